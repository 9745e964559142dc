# Reference values for tests/core/stats/test_power.py: R 4.2.2 stats::power.t.test.
# Run from this directory: Rscript power.R
# PROTOCOL.md §9: d = 0.74, two-sided alpha 0.025; the readings of "N = 40" are all here.
# power.t.test's type "one.sample" is the paired design (the test on the differences).
cfg <- expand.grid(test = c("two.sample", "one.sample"), n = c(10, 20, 40, 63.5),
                   d = c(0.74, 0.3), alpha = c(0.025, 0.05), sides = c(1, 2),
                   strict = c(TRUE, FALSE), stringsAsFactors = FALSE)
pw <- mapply(function(test, n, d, alpha, sides, strict)
  power.t.test(n = n, delta = d, sd = 1, sig.level = alpha, type = test,
               alternative = if (sides == 2) "two.sided" else "one.sided", strict = strict)$power,
  cfg$test, cfg$n, cfg$d, cfg$alpha, cfg$sides, cfg$strict)
out <- cbind(cfg, power = pw)
out$test <- ifelse(out$test == "two.sample", "two-sample", "paired")
write.csv(out, "power_reference.csv", row.names = FALSE)

ss <- expand.grid(test = c("two.sample", "one.sample"), target = c(0.8, 0.9),
                  d = c(0.74, 0.5), alpha = c(0.025, 0.05), sides = c(1, 2),
                  stringsAsFactors = FALSE)
n <- mapply(function(test, target, d, alpha, sides)
  power.t.test(power = target, delta = d, sd = 1, sig.level = alpha, type = test,
               alternative = if (sides == 2) "two.sided" else "one.sided", strict = TRUE,
               tol = 1e-12)$n,
  ss$test, ss$target, ss$d, ss$alpha, ss$sides)
out2 <- cbind(ss, n = n)
out2$test <- ifelse(out2$test == "two.sample", "two-sample", "paired")
write.csv(out2, "sample_size_reference.csv", row.names = FALSE)
writeLines(c(R.version.string, format(Sys.Date())), "R_VERSION.txt")
