# Independent reference for ketamine_ptsd.core.stats.ordinal.rspl (RSPL, SAS GLIMMIX's default
# METHOD= for a multinomial cumulative-logit model with random intercept / subject=id).
#
# Run from the repository root:  Rscript tests/reference/ordinal_rspl/make_reference.R
# Writes, beside this script: cgi_i_paper_design.csv (simulated CGI-I data with a shape that
# gives the paper's F(1, 24): 30 subjects, weeks 1 and 2, 59 observations, 5 observed
# categories: 59 - rank[1 X Z] - (J - 2) = 59 - 32 - 3 = 24) and reference.json.
#
# No public GLIMMIX listing of a multinomial cumulative-logit model with a random intercept
# fitted by RSPL, with its data, was found, so this is a validation against the method's
# definition (Wolfinger & O'Connell 1993; GLIMMIX documentation, "Pseudo-likelihood Estimation
# Based on Linearization"), written independently of the Python code:
#   * pseudo-data from the multinomial linearisation of logit P(Y <= j) = alpha_j + x'b + g_s,
#     on the cumulative indicators, with conditional covariance Delta^-1 A Delta^-1;
#   * each linear mixed pseudo-model is fitted by REML after whitening each observation's J-1
#     pseudo-responses by the Cholesky factor of that covariance (residual variance 1: the
#     multinomial has no scale parameter); the random intercept becomes a random "slope" on the
#     whitened column of ones. The REML fit uses dense matrices and optimize() (reml_dense), not
#     nlme::lme, whose fixed-sigma REML is not the restricted likelihood (see nlme_check; the
#     numbers are in reference.json under nlme_check);
#   * outer iterations until the largest relative change of (alpha, b, sigma^2) < 1e-8 (GLIMMIX: 1.11022e-8)
#     (slightly stricter than GLIMMIX's default), or 200 linearisations.
# Also reports the Type 3 F of each effect from Q = (W'V^-1W)^-1 of the last pseudo-model and GLIMMIX's
# containment den df n - rank[X Z] with X holding the J-1 cumulative intercepts as J-1 columns,
# i.e. n - rank[1 X Z] - (J - 2) (see README.md: the GLIMMIX foot-shape listing's DF 2478).
suppressPackageStartupMessages({ library(nlme); library(jsonlite) })  # nlme: nlme_check only
out_dir <- "tests/reference/ordinal_rspl"

simulate_cgi_i <- function(seed) {
  set.seed(seed)
  n <- 30
  arm <- rep(c("ketamine", "midazolam"), length.out = n)
  d <- expand.grid(t = 1:2, s = 1:n)
  d$subject <- sprintf("S%03d", d$s)
  d$arm <- arm[d$s]
  d$visit <- c("week1", "week2")[d$t]
  b <- rnorm(n, 0, 1.0)
  # CGI-I: 1 very much improved ... 7 very much worse; ketamine improves more
  eta <- 0.3 * (d$t == 2) * -1 - 1.2 * (d$arm == "ketamine") + b[d$s]
  latent <- eta + rlogis(nrow(d))
  # categories 6 and 7 (much / very much worse) need latent > 7: none observed, J = 5
  d$cgi_i <- as.integer(cut(latent, c(-Inf, -2.5, -1.2, 0.3, 1.5, 7, 9, Inf)))
  drop <- sample(which(d$t == 2), 1)
  d <- d[-drop, c("subject", "arm", "visit", "cgi_i")]
  rownames(d) <- NULL
  d
}
cgi_i <- simulate_cgi_i(20251205)
write.csv(cgi_i, file.path(out_dir, "cgi_i_paper_design.csv"), row.names = FALSE)
cgi_s <- read.csv("tests/reference/ordinal/cgi_small.csv", stringsAsFactors = FALSE)

# REML of the whitened pseudo-model P = W c + Z g + e, e ~ N(0, I), g ~ N(0, s2 I), on dense
# matrices: -2 log RL = log|V| + log|W'V^-1W| + r'V^-1 r (constants dropped), minimised over s2 >= 0
# by optimize() on log s2 (and s2 = 0 when that is no worse); GLS coefficients, BLUPs.
reml_dense <- function(P, W, Z) {
  parts <- function(s2) {
    V <- s2 * tcrossprod(Z) + diag(length(P)); Vi <- solve(V)
    A <- crossprod(W, Vi %*% W); cf <- solve(A, crossprod(W, Vi %*% P)); r <- P - W %*% cf
    list(value = as.numeric(determinant(V)$modulus + determinant(A)$modulus + t(r) %*% Vi %*% r),
         coef = drop(cf), vcov = solve(A), gamma = drop(s2 * crossprod(Z, Vi %*% r)))
  }
  o <- optimize(function(t) parts(exp(t))$value, c(-25, 8), tol = 1e-11)
  s2 <- exp(o$minimum)
  if (parts(0)$value <= o$objective) s2 <- 0
  c(parts(s2), list(sigma2 = s2))
}

# Why not nlme::lme: with the residual SD fixed (lmeControl(sigma = 1)), nlme 3.1-162's
# method = "REML" does not minimise the restricted likelihood above (its method = "ML" does
# minimise the ML criterion). The check below records both on a small simulated model.
nlme_check <- function() {
  set.seed(1)
  S <- 20; m <- 4
  d <- data.frame(subject = factor(rep(1:S, each = m)), x = rnorm(S * m), z = runif(S * m, 0.5, 1.5))
  d$y <- 1 + d$x + rnorm(S)[d$subject] * d$z * 1.3 + rnorm(S * m)
  ctl <- lmeControl(sigma = 1, msTol = 1e-14, tolerance = 1e-12)
  vc <- function(method) as.numeric(VarCorr(lme(y ~ x, random = list(subject = pdIdent(~ 0 + z)),
                                              data = d, method = method, control = ctl))["z", "Variance"])
  X <- model.matrix(~ x, d); Z <- model.matrix(~ 0 + subject, d) * d$z
  ml <- function(s2) { V <- s2 * tcrossprod(Z) + diag(nrow(d)); Vi <- solve(V)
    cf <- solve(crossprod(X, Vi %*% X), crossprod(X, Vi %*% d$y)); r <- d$y - X %*% cf
    as.numeric(determinant(V)$modulus + t(r) %*% Vi %*% r) }
  list(lme_reml_sigma_fixed = vc("REML"), dense_reml = reml_dense(d$y, X, Z)$sigma2,
       lme_ml_sigma_fixed = vc("ML"), dense_ml = optimize(ml, c(0.01, 20), tol = 1e-10)$minimum)
}

rspl <- function(y, X, subject, pconv = 1e-8, max_outer = 200) {
  cats <- sort(unique(y)); yc <- match(y, cats); K <- length(cats) - 1
  n <- length(y); p <- ncol(X)
  subj <- as.integer(factor(subject)); S <- max(subj)
  # start: marginal cumulative logits, b = 0, g = 0
  cum <- pmin(pmax(cumsum(tabulate(yc, K + 1))[1:K] / n, 1e-3), 1 - 1e-3)
  alpha <- qlogis(cum); b <- rep(0, p); g <- rep(0, S)
  prev <- NULL; change <- Inf; it <- 0
  for (it in 1:max_outer) {
    rows <- vector("list", n)
    for (i in 1:n) {
      eta <- alpha + sum(X[i, ] * b) + g[subj[i]]
      Fj <- plogis(eta); fj <- Fj * (1 - Fj)
      cj <- as.numeric(yc[i] <= 1:K)
      P <- eta + (cj - Fj) / fj
      A <- outer(1:K, 1:K, function(j, k) Fj[pmin(j, k)] * (1 - Fj[pmax(j, k)]))
      R <- A / outer(fj, fj)
      Linv <- solve(t(chol(R)))                      # R = L L', whiten by L^-1
      Wi <- cbind(diag(K), matrix(X[i, ], K, p, byrow = TRUE))
      rows[[i]] <- data.frame(P = drop(Linv %*% P), Linv %*% Wi, z = drop(Linv %*% rep(1, K)),
                              subject = subj[i])
    }
    pd <- do.call(rbind, rows)
    Pw <- pd$P; Ww <- as.matrix(pd[, 2:(1 + K + p)]); Zw <- pd$z * outer(pd$subject, 1:S, "==")
    fit <- reml_dense(Pw, Ww, Zw)
    coef <- fit$coef; sigma2 <- fit$sigma2
    alpha <- coef[1:K]; b <- coef[-(1:K)]; g <- fit$gamma
    cur <- c(coef, sigma2)
    if (!is.null(prev)) {
      scale <- ifelse(abs(prev) < 1e-8, 1, abs(prev))
      change <- max(abs(cur - prev) / scale)
      if (change < pconv) break
    }
    prev <- cur
  }
  list(alpha = alpha, b = b, sigma2 = sigma2, vcov = fit$vcov,
       iterations = it, max_relative_change = change)
}

type3 <- function(d, outcome, est, K) {
  d$arm <- factor(d$arm); d$visit <- factor(d$visit)
  X <- model.matrix(~ arm * visit, d)[, -1, drop = FALSE]
  cells <- expand.grid(arm = levels(d$arm), visit = levels(d$visit))
  C <- model.matrix(~ arm * visit, cells)[, -1, drop = FALSE]
  ng <- nlevels(d$arm); nt <- nlevels(d$visit)
  cellmean <- function(by, lv) t(sapply(lv, function(l) colMeans(C[cells[[by]] == l, , drop = FALSE])))
  gm <- cellmean("arm", levels(d$arm)); tm <- cellmean("visit", levels(d$visit))
  Ls <- list(group = sweep(gm[-1, , drop = FALSE], 2, gm[1, ]),
             time = sweep(tm[-1, , drop = FALSE], 2, tm[1, ]),
             "group:time" = diag(ncol(C))[(ng + nt - 1):ncol(C), , drop = FALSE])
  Z <- model.matrix(~ 0 + factor(d$subject))
  den <- nrow(d) - qr(cbind(1, X, Z))$rank - (K - 1)
  bb <- est$b; V <- est$vcov[-(1:K), -(1:K)]
  lapply(names(Ls), function(e) {
    L <- Ls[[e]]; lb <- L %*% bb
    Fv <- drop(t(lb) %*% solve(L %*% V %*% t(L), lb)) / nrow(L)
    list(effect = e, num_df = nrow(L), den_df = den, F = Fv,
         p = pf(Fv, nrow(L), den, lower.tail = FALSE))
  })
}

run <- function(d, outcome) {
  d$arm <- factor(d$arm); d$visit <- factor(d$visit)
  X <- model.matrix(~ arm * visit, d)[, -1, drop = FALSE]
  est <- rspl(d[[outcome]], X, d$subject)
  K <- length(est$alpha)
  c(est, list(terms = colnames(X), type3 = type3(d, outcome, est, K), nobs = nrow(d),
              n_subjects = length(unique(d$subject))))
}

# The data of the SAS/STAT GLIMMIX documentation's Getting Started example (multicenter.csv:
# 15 centers, procedures A and B, side effects out of n), one row per patient, J = 2: category 1 =
# side effect, so logit P(Y <= 1) = alpha + b [group = A] + g_center is that example's model
# (reference level B). Its printed estimates could not be retrieved to check them; this is the
# same independent RSPL on those data.
run_multicenter <- function() {
  mc <- read.csv(file.path(out_dir, "multicenter.csv"), stringsAsFactors = FALSE)
  rows <- mc[rep(seq_len(nrow(mc)), mc$n), c("center", "group")]
  rows$y <- unlist(lapply(seq_len(nrow(mc)), function(i)
    c(rep(1L, mc$sideeffect[i]), rep(2L, mc$n[i] - mc$sideeffect[i]))))
  X <- matrix(as.numeric(rows$group == "A"), ncol = 1)
  est <- rspl(rows$y, X, rows$center)
  c(est, list(terms = "groupA", nobs = nrow(rows), n_subjects = length(unique(rows$center))))
}

ref <- list(
  generated_by = "tests/reference/ordinal_rspl/make_reference.R",
  r_version = R.version.string, nlme_version = as.character(packageVersion("nlme")),
  date = format(Sys.Date()),
  parametrisation = "GLIMMIX: logit P(Y <= j) = alpha_j + x'b + gamma (our beta = -b)",
  cgi_i_paper_design = run(cgi_i, "cgi_i"),
  cgi_small = run(cgi_s, "cgi"),
  nlme_check = nlme_check(),
  multicenter = run_multicenter())
writeLines(toJSON(ref, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(out_dir, "reference.json"))
cat("iterations:", ref$cgi_i_paper_design$iterations, ref$cgi_small$iterations,
    ref$multicenter$iterations, "\n")
