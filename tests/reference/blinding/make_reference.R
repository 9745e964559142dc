# Reference values for the blinding indices (tests/core/stats/test_blinding.py).
# Run from the repository root:  Rscript tests/reference/blinding/make_reference.R
# Base R only. The formulas are written out here from the papers, independently of the Python
# code (src/ketamine_ptsd/core/stats/blinding.py):
#   Bang H, Ni L, Davis CE (2004). Controlled Clinical Trials 25:143-156 (per-arm index, 2x3).
#   James KE, Bloch DA, Lee KK, Kraemer HC, Fuller RK (1996). Statistics in Medicine
#   15:1421-1434 (weighted-kappa index; its large-sample variance as in the R package BI).
# Writes reference.csv: one row per case, 17 significant digits.

here <- "tests/reference/blinding"

# tab: 3 x 2 counts, rows = guess (arm 1, arm 2, don't know), columns = actual arm.
bang_one <- function(tab, arm, level) {
  n <- sum(tab[, arm])
  right <- tab[arm, arm] / n
  wrong <- tab[3 - arm, arm] / n
  est <- right - wrong
  se <- sqrt((right * (1 - right) + wrong * (1 - wrong) + 2 * right * wrong) / n)
  z <- qnorm(1 - (1 - level) / 2)
  c(n = n, index = est, se = se, lo = est - z * se, hi = est + z * se)
}

james <- function(tab, level) {
  z <- qnorm(1 - (1 - level) / 2)
  if (sum(tab[1:2, ]) == 0) return(c(index = 1, se = 0, lo = 1, hi = 1))
  N <- sum(tab)
  p <- tab / N
  W <- rbind(c(0, 0.5), c(0.5, 0))           # weights of the guesses; "don't know" has 1
  dk <- sum(p[3, ])
  rowsh <- c(sum(p[1, ]), sum(p[2, ]))        # share guessing arm 1, arm 2
  colsh <- c(sum(p[1:2, 1]), sum(p[1:2, 2]))  # share of each arm who guessed
  po <- 0; pe <- 0
  for (g in 1:2) for (a in 1:2) {
    po <- po + W[g, a] * p[g, a] / (1 - dk)
    pe <- pe + W[g, a] * rowsh[g] * colsh[a] / (1 - dk)^2
  }
  if (pe <= 0) return(c(index = NaN, se = NaN, lo = NaN, hi = NaN))
  kap <- (po - pe) / pe
  est <- (1 + dk + (1 - dk) * kap) / 2
  ex <- 0
  for (g in 1:2) for (a in 1:2) ex <- ex + W[g, a] * rowsh[g] * colsh[a]
  num <- 0
  for (g in 1:2) for (a in 1:2) {
    s <- sum(W[, a] * rowsh) + sum(W[g, ] * colsh)
    num <- num + p[g, a] * (1 - dk)^2 * ((1 - dk) * W[g, a] - (1 + kap) * s)^2
  }
  t1 <- num / (4 * ex^2)
  t2 <- dk * (1 - dk) - (1 - dk) * (1 + kap) * (dk + (1 - dk) * (1 + kap) / 4)
  se <- sqrt((t1 + t2) / N)
  c(index = est, se = se, lo = est - z * se, hi = est + z * se)
}

# Each case: arm-1 respondents' guesses (arm 1, arm 2, don't know), then arm 2's.
cases <- list(
  cli_example         = c(8, 3, 4, 5, 6, 4),
  houweling_pi        = c(48, 4, 330, 22, 30, 319),  # Houweling et al. 2014 Table 2
  houweling_rc        = c(94, 11, 289, 52, 44, 284),
  houweling_patients  = c(143, 14, 188, 104, 57, 175),
  crisp_bang2004      = c(82, 25, 170, 27, 29, 83),  # Bang et al. 2004 Table 7 (CRISP)
  all_correct         = c(10, 0, 0, 0, 12, 0),
  all_wrong           = c(0, 7, 0, 9, 0, 0),
  arm1_all_dont_know  = c(0, 0, 6, 3, 5, 2),
  everyone_dont_know  = c(0, 0, 5, 0, 0, 4),
  lopsided            = c(30, 1, 2, 3, 1, 40)
)
levels <- c(0.95, 0.90)

rows <- list()
for (nm in names(cases)) for (lev in levels) {
  v <- cases[[nm]]
  tab <- matrix(c(v[1], v[2], v[3], v[4], v[5], v[6]), nrow = 3)  # columns = arms
  b1 <- bang_one(tab, 1, lev); b2 <- bang_one(tab, 2, lev); j <- james(tab, lev)
  rows[[length(rows) + 1]] <- data.frame(
    case = nm, level = lev, counts = paste(v, collapse = " "),
    bang1_n = b1[["n"]], bang1_index = b1[["index"]], bang1_se = b1[["se"]],
    bang1_ci_low = b1[["lo"]], bang1_ci_high = b1[["hi"]],
    bang2_n = b2[["n"]], bang2_index = b2[["index"]], bang2_se = b2[["se"]],
    bang2_ci_low = b2[["lo"]], bang2_ci_high = b2[["hi"]],
    james_index = j[["index"]], james_se = j[["se"]],
    james_ci_low = j[["lo"]], james_ci_high = j[["hi"]]
  )
}
out <- do.call(rbind, rows)
num <- vapply(out, is.numeric, logical(1))
out[num] <- lapply(out[num], function(x) sprintf("%.17g", x))
write.csv(out, file.path(here, "reference.csv"), row.names = FALSE, quote = TRUE)
cat("wrote", nrow(out), "rows;", R.version.string, "\n")
