# Reference values for reference-based conditional mean imputation with jackknife SEs
# (tests/core/stats/test_refbased.py). Run from the repository root:
#   Rscript tests/reference/refbased/make_reference.R
# R 4.2.2 with nlme (Debian r-cran-nlme). Written independently of the Python code: the MMRM
# is nlme::gls (unstructured: corSymm + varIdent, REML), the analysis stats::lm.
# Data: antidepressant.csv (rbmi's antidepressant_data; see README.md).
# Writes reference.csv: strategy, visit, estimate (PLACEBO is the reference; DRUG - PLACEBO),
# LS means per arm at mean BASVAL, and their jackknife SEs; 17 significant digits.
suppressPackageStartupMessages(library(nlme))
here <- "tests/reference/refbased"
d <- read.csv(file.path(here, "antidepressant.csv"))
visits <- c(4, 5, 6, 7)
pats <- sort(unique(d$PATIENT))
Y <- matrix(NA_real_, length(pats), 4)
Y[cbind(match(d$PATIENT, pats), match(d$VISIT, visits))] <- d$CHANGE
first <- d[!duplicated(d$PATIENT), ]
first <- first[match(pats, first$PATIENT), ]
arm <- first$THERAPY            # "DRUG" / "PLACEBO"
bas <- first$BASVAL

one_set <- function(Y, arm, bas) {
  n <- nrow(Y)
  long <- data.frame(
    id = factor(rep(seq_len(n), each = 4)), tn = rep(1:4, n),
    VISIT = factor(rep(visits, n)), THERAPY = factor(rep(arm, each = 4), c("PLACEBO", "DRUG")),
    BASVAL = rep(bas, each = 4), y = as.vector(t(Y))
  )
  obs <- long[!is.na(long$y), ]
  fit <- gls(y ~ THERAPY * VISIT + BASVAL * VISIT, data = obs, method = "REML",
             correlation = corSymm(form = ~ tn | id), weights = varIdent(form = ~ 1 | VISIT),
             control = glsControl(tolerance = 1e-12, msTol = 1e-12, maxIter = 500,
                                  msMaxIter = 500))
  S <- getVarCov(fit, individual = obs$id[match(TRUE, table(obs$id)[obs$id] == 4)])
  S <- matrix(as.numeric(S), 4, 4)
  b <- coef(fit)
  mm <- function(therapy) {
    nd <- long; nd$THERAPY <- factor(therapy, c("PLACEBO", "DRUG"))
    X <- model.matrix(~ THERAPY * VISIT + BASVAL * VISIT, nd)
    matrix(X %*% b, n, 4, byrow = TRUE)
  }
  mu_ref <- mm(rep("PLACEBO", nrow(long)))
  mu_own <- mm(as.character(long$THERAPY))
  res <- list()
  for (strategy in c("MAR", "JR", "CR", "CIR")) {
    Yc <- Y
    for (i in seq_len(n)) {
      m <- is.na(Y[i, ])
      if (!any(m)) next
      o <- !m
      ice <- if (any(o)) max(which(o)) + 1 else 1   # first visit of the trailing missing run
      mu <- mu_own[i, ]
      if (strategy != "MAR" && ice <= 4) {
        if (strategy == "CR" || ice == 1) {
          mu <- mu_ref[i, ]
        } else if (strategy == "JR") {
          mu[ice:4] <- mu_ref[i, ice:4]
        } else {
          mu[ice:4] <- mu_own[i, ice - 1] + mu_ref[i, ice:4] - mu_ref[i, ice - 1]
        }
      }
      if (any(o)) {
        Yc[i, m] <- mu[m] + S[m, o, drop = FALSE] %*% solve(S[o, o], Y[i, o] - mu[o])
      } else {
        Yc[i, m] <- mu[m]
      }
    }
    out <- NULL
    for (v in 1:4) {
      a <- lm(Yc[, v] ~ I(arm == "DRUG") + bas)
      cf <- coef(a)
      lsm_ref <- cf[1] + cf[3] * mean(bas)
      out <- rbind(out, c(cf[2], lsm_ref, lsm_ref + cf[2]))
    }
    res[[strategy]] <- out
  }
  res
}

full <- one_set(Y, arm, bas)
n <- nrow(Y)
loo <- lapply(seq_len(n), function(j) one_set(Y[-j, , drop = FALSE], arm[-j], bas[-j]))
rows <- NULL
for (strategy in names(full)) {
  est <- full[[strategy]]
  jk <- simplify2array(lapply(loo, function(r) r[[strategy]]))   # 4 x 3 x n
  se <- sqrt((n - 1) / n * apply(jk, c(1, 2), function(x) sum((x - mean(x))^2)))
  for (v in 1:4) {
    rows <- rbind(rows, data.frame(
      strategy = strategy, visit = visits[v],
      estimate = sprintf("%.17g", est[v, 1]), se = sprintf("%.17g", se[v, 1]),
      lsmean_placebo = sprintf("%.17g", est[v, 2]), lsmean_placebo_se = sprintf("%.17g", se[v, 2]),
      lsmean_drug = sprintf("%.17g", est[v, 3]), lsmean_drug_se = sprintf("%.17g", se[v, 3])
    ))
  }
}
write.csv(rows, file.path(here, "reference.csv"), row.names = FALSE)
cat("wrote", nrow(rows), "rows;", R.version.string, "nlme", format(packageVersion("nlme")), "\n")
