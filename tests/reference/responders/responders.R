# Reference values for tests/core/stats/test_responders.py.
# R 4.2.2 (stats package); run from this directory: Rscript responders.R
# Writes responders_reference.csv. Tables are (a_resp, a_nonresp, b_resp, b_nonresp).
tables <- list(
  c(10, 5, 3, 12),   # PROTOCOL.md §10: 10/15 vs 3/15
  c(3, 12, 10, 5),   # the same, arms swapped (RD < 0)
  c(7, 8, 5, 10),    # RD CI crosses 0
  c(15, 0, 9, 6),    # a zero cell
  c(40, 60, 25, 75), # larger arms
  c(1, 19, 0, 20)    # sparse: Yates correction capped at |O - E|
)
rows <- lapply(tables, function(v) {
  m <- matrix(v, nrow = 2, byrow = TRUE)
  pe <- suppressWarnings(chisq.test(m, correct = FALSE))
  ya <- suppressWarnings(chisq.test(m, correct = TRUE))
  fi <- fisher.test(m)
  x <- c(v[1], v[3]); n <- c(v[1] + v[2], v[3] + v[4])
  wald <- suppressWarnings(prop.test(x, n, correct = FALSE))$conf.int
  waldcc <- suppressWarnings(prop.test(x, n, correct = TRUE))$conf.int
  wa <- suppressWarnings(prop.test(x[1], n[1], correct = FALSE))$conf.int
  wb <- suppressWarnings(prop.test(x[2], n[2], correct = FALSE))$conf.int
  p <- x / n; rd <- p[1] - p[2]
  # Newcombe (1998) method 10 from the two Wilson intervals
  nlow <- rd - sqrt((p[1] - wa[1])^2 + (wb[2] - p[2])^2)
  nhigh <- rd + sqrt((wa[2] - p[1])^2 + (p[2] - wb[1])^2)
  data.frame(a_resp = v[1], a_nonresp = v[2], b_resp = v[3], b_nonresp = v[4],
             chi2_pearson = unname(pe$statistic), p_pearson = pe$p.value,
             chi2_yates = unname(ya$statistic), p_yates = ya$p.value,
             p_fisher = fi$p.value, risk_difference = rd,
             wald_low = wald[1], wald_high = wald[2],
             wald_cc_low = waldcc[1], wald_cc_high = waldcc[2],
             wilson_a_low = wa[1], wilson_a_high = wa[2],
             wilson_b_low = wb[1], wilson_b_high = wb[2],
             newcombe_low = nlow, newcombe_high = nhigh)
})
out <- do.call(rbind, rows)
write.csv(out, "responders_reference.csv", row.names = FALSE)
writeLines(c(R.version.string, format(Sys.Date())), "R_VERSION.txt")
