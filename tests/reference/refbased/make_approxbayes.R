# Reference values for approximate Bayesian reference-based MI with Rubin's rules and
# Barnard-Rubin df (core/stats/mi.py, method "approx-bayes"; tests/core/stats/test_mi.py).
# Run from the repository root:
#   Rscript tests/reference/refbased/make_approxbayes.R
# R 4.2.2 with nlme (Debian r-cran-nlme). Written independently of the Python code.
# Inputs: antidepressant.csv (rbmi's antidepressant_data; README.md) and approxbayes_draws.csv
# (the bootstrap counts and standard normals, written by make_approxbayes_draws.py, so that
# both implementations use the same random numbers). Strategy: JR from the first visit of each
# patient's trailing run of missing visits (rbmi's vignette; the intermittent gap of patient
# 3618 is MAR). For each of the M samples: nlme::gls (UN: corSymm + varIdent, REML) on the
# bootstrap sample (each copy of a patient a separate subject); the original data's missing
# values drawn as the conditional mean + t(chol(conditional covariance)) %*% z; lm ANCOVA per
# visit. Pooled with Rubin's rules, df by Barnard & Rubin (1999) with v_com = n - 3.
# Writes approxbayes_reference.csv (17 significant digits).
suppressPackageStartupMessages(library(nlme))
here <- "tests/reference/refbased"
d <- read.csv(file.path(here, "antidepressant.csv"))
dr <- read.csv(file.path(here, "approxbayes_draws.csv"))
visits <- c(4, 5, 6, 7)
pats <- sort(unique(d$PATIENT))
n <- length(pats)
Y <- matrix(NA_real_, n, 4)
Y[cbind(match(d$PATIENT, pats), match(d$VISIT, visits))] <- d$CHANGE
first <- d[!duplicated(d$PATIENT), ]
first <- first[match(pats, first$PATIENT), ]
arm <- first$THERAPY
bas <- first$BASVAL
M <- max(dr$sample)

fit_params <- function(counts) {
  idx <- rep(seq_len(n), counts)
  Yb <- Y[idx, , drop = FALSE]
  nb <- length(idx)
  long <- data.frame(
    id = factor(rep(seq_len(nb), each = 4)), tn = rep(1:4, nb),
    VISIT = factor(rep(visits, nb)),
    THERAPY = factor(rep(arm[idx], each = 4), c("PLACEBO", "DRUG")),
    BASVAL = rep(bas[idx], each = 4), y = as.vector(t(Yb))
  )
  obs <- long[!is.na(long$y), ]
  fit <- gls(y ~ THERAPY * VISIT + BASVAL * VISIT, data = obs, method = "REML",
             correlation = corSymm(form = ~ tn | id), weights = varIdent(form = ~ 1 | VISIT),
             control = glsControl(tolerance = 1e-12, msTol = 1e-12, maxIter = 500,
                                  msMaxIter = 500))
  full_id <- obs$id[match(TRUE, table(obs$id)[obs$id] == 4)]
  S <- matrix(as.numeric(getVarCov(fit, individual = full_id)), 4, 4)
  list(b = coef(fit), S = S)
}

mean_rows <- function(b, therapy) {
  nd <- data.frame(VISIT = factor(rep(visits, n)),
                   THERAPY = factor(rep(therapy, each = 4), c("PLACEBO", "DRUG")),
                   BASVAL = rep(bas, each = 4))
  X <- model.matrix(~ THERAPY * VISIT + BASVAL * VISIT, nd)
  matrix(X %*% b, n, 4, byrow = TRUE)
}

est <- array(NA_real_, c(M, 4, 3))   # effect, lsmean DRUG, lsmean PLACEBO
var <- array(NA_real_, c(M, 4, 3))
for (m in seq_len(M)) {
  dm <- dr[dr$sample == m, ]
  dm <- dm[match(pats, dm$PATIENT), ]
  par <- fit_params(dm$count)
  mu_own <- mean_rows(par$b, arm)
  mu_ref <- mean_rows(par$b, rep("PLACEBO", n))
  Z <- as.matrix(dm[, c("z4", "z5", "z6", "z7")])
  Yc <- Y
  for (i in seq_len(n)) {
    mis <- is.na(Y[i, ])
    if (!any(mis)) next
    o <- !mis
    ice <- if (any(o)) max(which(o)) + 1 else 1
    mu <- mu_own[i, ]
    if (ice <= 4) {
      if (ice == 1) mu <- mu_ref[i, ] else mu[ice:4] <- mu_ref[i, ice:4]
    }
    S <- par$S
    if (any(o)) {
      K <- S[mis, o, drop = FALSE] %*% solve(S[o, o, drop = FALSE])
      cm <- mu[mis] + K %*% (Y[i, o] - mu[o])
      cv <- S[mis, mis, drop = FALSE] - K %*% S[o, mis, drop = FALSE]
    } else {
      cm <- mu[mis]
      cv <- S[mis, mis, drop = FALSE]
    }
    cv <- (cv + t(cv)) / 2
    Yc[i, mis] <- cm + t(chol(cv)) %*% Z[i, mis]
  }
  for (v in 1:4) {
    drug <- as.numeric(arm == "DRUG")
    a <- lm(Yc[, v] ~ drug + bas)
    V <- vcov(a)
    cf <- coef(a)
    l_drug <- c(1, 1, mean(bas))
    l_plac <- c(1, 0, mean(bas))
    est[m, v, ] <- c(cf[2], sum(l_drug * cf), sum(l_plac * cf))
    var[m, v, ] <- c(V[2, 2], t(l_drug) %*% V %*% l_drug, t(l_plac) %*% V %*% l_plac)
  }
}

v_com <- n - 3
rows <- NULL
for (v in 1:4) {
  for (k in 1:3) {
    q <- est[, v, k]
    u <- var[, v, k]
    qbar <- mean(q)
    b <- var(q)
    tt <- mean(u) + (1 + 1 / M) * b
    lambda <- (1 + 1 / M) * b / tt
    v_old <- (M - 1) / lambda^2
    v_obs <- (v_com + 1) / (v_com + 3) * v_com * (1 - lambda)
    # no between-imputation variance (nothing imputed at the visit): the limit lambda -> 0
    df <- if (b == 0) v_obs else v_old * v_obs / (v_old + v_obs)
    p <- 2 * pt(-abs(qbar / sqrt(tt)), df)
    rows <- rbind(rows, data.frame(
      visit = visits[v], parameter = c("effect", "lsmean_drug", "lsmean_placebo")[k],
      estimate = sprintf("%.17g", qbar), se = sprintf("%.17g", sqrt(tt)),
      df = sprintf("%.17g", df), p = sprintf("%.17g", p)
    ))
  }
}
write.csv(rows, file.path(here, "approxbayes_reference.csv"), row.names = FALSE)
cat("wrote", nrow(rows), "rows;", R.version.string, "nlme", format(packageVersion("nlme")), "\n")
