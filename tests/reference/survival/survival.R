# Reference values for tests/core/stats/test_survival.py (survival 3.5-3, R 4.2.2).
# Run from this directory: Rscript survival.R
# Data sets (written here, read by the tests):
#  - rct_durability.csv: 10 ketamine responders of PROTOCOL.md §8 (8 losses of response,
#    censored at 50 and 102 days); chosen so survfit gives median 27.5, quartiles 23 and 32.
#  - seeded.csv: set.seed(20240611); three arms, whole-day times (many ties), administrative
#    and random censoring; arm "c" ends with an event so its curve reaches 0.
suppressMessages(library(survival))
rct <- data.frame(days = c(14, 20, 23, 25, 27, 28, 30, 32, 50, 102),
                  lost = c(1, 1, 1, 1, 1, 1, 1, 1, 0, 0))
write.csv(rct, "rct_durability.csv", row.names = FALSE)

set.seed(20240611)
n <- c(a = 25, b = 30, c = 12)
arm <- rep(names(n), n)
rate <- c(a = 1 / 30, b = 1 / 45, c = 1 / 20)[arm]
latent <- ceiling(rexp(length(arm), rate))
cens <- ceiling(runif(length(arm), 10, 120))
cens[arm == "c"] <- 200  # no random censoring in arm c
time <- pmin(latent, cens)
event <- as.integer(latent <= cens)
seeded <- data.frame(time = time, event = event, arm = arm)
write.csv(seeded, "seeded.csv", row.names = FALSE)

curve_rows <- function(fit, label) {
  s <- summary(fit, censored = TRUE)
  data.frame(dataset = label, group = if (is.null(s$strata)) "all" else sub("^arm=", "", as.character(s$strata)),
             time = s$time, n_risk = s$n.risk, n_event = s$n.event, n_censor = s$n.censor,
             surv = s$surv, std_err_cumhaz = fit$std.err[match(seq_along(s$time), seq_along(s$time))],
             lower = s$lower, upper = s$upper)
}
quant_rows <- function(fit, label, groups) {
  q <- quantile(fit, probs = c(0.25, 0.5, 0.75))
  if (is.null(dim(q$quantile))) {
    qq <- matrix(q$quantile, nrow = 1); lo <- matrix(q$lower, nrow = 1); hi <- matrix(q$upper, nrow = 1)
  } else { qq <- q$quantile; lo <- q$lower; hi <- q$upper }
  data.frame(dataset = label, group = groups,
             q25 = qq[, 1], q25_low = lo[, 1], q25_high = hi[, 1],
             median = qq[, 2], median_low = lo[, 2], median_high = hi[, 2],
             q75 = qq[, 3], q75_low = lo[, 3], q75_high = hi[, 3])
}

fit_rct <- survfit(Surv(days, lost) ~ 1, data = rct)  # conf.type = "log" (default)
fit_all <- survfit(Surv(time, event) ~ 1, data = seeded)
fit_arm <- survfit(Surv(time, event) ~ arm, data = seeded)
curves <- rbind(curve_rows(fit_rct, "rct"), curve_rows(fit_all, "seeded"), curve_rows(fit_arm, "seeded_by_arm"))
curves$std_err_cumhaz <- NULL  # summary() does not carry it; the band is checked instead
write.csv(curves, "km_curves.csv", row.names = FALSE)
quants <- rbind(quant_rows(fit_rct, "rct", "all"), quant_rows(fit_all, "seeded", "all"),
                quant_rows(fit_arm, "seeded_by_arm", c("a", "b", "c")))
write.csv(quants, "km_quantiles.csv", row.names = FALSE)

lr <- function(formula, data, label) {
  sd <- survdiff(formula, data = data)
  data.frame(dataset = label, chi2 = sd$chisq, df = length(sd$n) - 1,
             p = pchisq(sd$chisq, length(sd$n) - 1, lower.tail = FALSE))
}
two <- subset(seeded, arm != "c")
logrank <- rbind(lr(Surv(time, event) ~ arm, seeded, "seeded_by_arm"),
                 lr(Surv(time, event) ~ arm, two, "seeded_a_vs_b"))
write.csv(logrank, "logrank.csv", row.names = FALSE)
writeLines(c(R.version.string, paste("survival", packageVersion("survival")), format(Sys.Date())), "R_VERSION.txt")
