# Reference values for tests/core/stats/test_sequential.py: rpact 3.3.4 on R 4.2.2.
# Run from this directory: Rscript sequential.R
# For each design: per look the critical value z, rpact's stageLevels (one-sided nominal level;
# our two-sided nominal_alpha is 2 x stageLevels) and the cumulative alpha spent.
# rpact spends two-sided designs per side (f(t; alpha/2) in each tail); the "total" convention
# (Lan & DeMets 1983: 2 - 2*Phi(z_{alpha/2}/sqrt(t)) in both tails together) is checked through
# typeOfDesign = "asUser" with those cumulative values.
suppressMessages(library(rpact))
infos <- list(c(0.5, 1), c(0.75, 1), c(1/3, 2/3, 1), c(0.2, 0.5, 1), c(0.25, 0.5, 0.75, 1))
rows <- list()
add <- function(d, type, convention, id) {
  for (k in seq_len(d$kMax)) rows[[length(rows) + 1]] <<- data.frame(
    design = id, type = type, convention = convention, alpha = d$alpha, sides = d$sided,
    information = paste(format(d$informationRates, digits = 17), collapse = ";"),
    look = k, t = d$informationRates[k], z = d$criticalValues[k],
    stage_level_one_sided = d$stageLevels[k], cumulative_alpha = d$alphaSpent[k])
}
id <- 0
for (type in c("asP", "asOF", "P", "OF")) for (sided in 1:2) for (alpha in c(0.05, 0.025))
  for (t in infos) {
    id <- id + 1
    d <- getDesignGroupSequential(kMax = length(t), alpha = alpha, sided = sided,
                                  typeOfDesign = type, informationRates = t)
    add(d, type, "per-side", id)
  }
for (alpha in c(0.05, 0.025)) for (t in infos) {
  id <- id + 1
  spent <- pmin(2 - 2 * pnorm(qnorm(1 - alpha / 2) / sqrt(t)), alpha)
  d <- getDesignGroupSequential(kMax = length(t), alpha = alpha, sided = 2, typeOfDesign = "asUser",
                                userAlphaSpending = spent, informationRates = t)
  add(d, "asOF", "total", id)
}
write.csv(do.call(rbind, rows), "rpact_designs.csv", row.names = FALSE)
writeLines(c(R.version.string, paste("rpact", packageVersion("rpact")), format(Sys.Date())), "R_VERSION.txt")
