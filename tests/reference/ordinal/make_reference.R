# Reference fits for ketamine_ptsd.core.stats.ordinal (cumulative logit mixed model).
#
# Run from the repository root:  Rscript tests/reference/ordinal/make_reference.R
# Writes, beside this script: cgi_small.csv, cgi_large.csv, wine.csv (the data) and
# reference.json (R ordinal::clmm fits: Laplace nAGQ=1 and adaptive Gauss-Hermite nAGQ=5/10,
# thresholds, coefficients, vcov, log SD, logLik, Type 3 Wald chi-square from vcov and
# likelihood-ratio statistics from constrained refits).
# Tolerances: nlminb rel.tol 1e-13, and the inner (conditional-mode) Newton gradTol 1e-9 rather
# than the default 1e-4. With the default, clmm's Laplace log-likelihood is off by ~3e-6 on the
# wine data (the modes are not converged); with 1e-9 it agrees with an independent
# implementation to 1e-10. The price: clmm's inner Newton then warns ("step factor reduced
# below minimum") and its finite-difference Hessian for nAGQ = 1 becomes noisy (wine SEs move
# by up to 1% between gradTol 1e-7 and 1e-9), so Laplace SEs here are only good to ~1e-2.
# AGQ (nAGQ > 1) SEs are stable to ~1e-6 across these settings. Warnings are counted, not shown.
suppressPackageStartupMessages({ library(ordinal); library(jsonlite); library(MASS) })
out_dir <- "tests/reference/ordinal"
ctrl <- clmm.control(method = "nlminb", gradTol = 1e-9, rel.tol = 1e-13,
                     eval.max = 5000, iter.max = 5000)

# ---- simulated CGI-like data --------------------------------------------------------------
simulate_cgi <- function(seed, n_subjects, times, cut_points, sd_subject, drop, covariates) {
  set.seed(seed)
  arms <- rep(c("ketamine", "midazolam"), length.out = n_subjects)
  d <- expand.grid(t = seq_along(times), s = seq_len(n_subjects))
  d$subject <- sprintf("S%03d", d$s)
  d$arm <- arms[d$s]
  d$visit <- times[d$t]
  b <- rnorm(n_subjects, 0, sd_subject)
  age <- round(rnorm(n_subjects, 40, 12))
  sex <- sample(c("F", "M"), n_subjects, replace = TRUE, prob = c(0.7, 0.3))
  # ketamine improves faster: latent CGI-S falls with time, more so on ketamine
  eta <- -0.6 * (d$t - 1) - 0.9 * (d$t - 1) * (d$arm == "ketamine") + b[d$s]
  if (covariates) eta <- eta + 0.02 * (age[d$s] - 40) + 0.4 * (sex[d$s] == "M")
  latent <- eta + rlogis(nrow(d))
  d$cgi <- as.integer(cut(latent, c(-Inf, cut_points, Inf)))
  if (covariates) { d$age <- age[d$s]; d$sex <- sex[d$s] }
  keep <- !(seq_len(nrow(d)) %in% sample(which(d$t > 1), drop))
  d <- d[keep, setdiff(names(d), c("t", "s"))]
  rownames(d) <- NULL
  d
}
small <- simulate_cgi(20240601, 30, c("baseline", "week1", "week2"),
                      c(-2.5, -1.2, 0, 1.2, 9, 10), 1.2, 6, FALSE)
large <- simulate_cgi(20240602, 200, c("baseline", "week1", "week2", "week4"),
                      c(-3.5, -2.2, -1, 0.2, 1.4, 2.6), 1.0, 40, TRUE)
write.csv(small, file.path(out_dir, "cgi_small.csv"), row.names = FALSE)
write.csv(large, file.path(out_dir, "cgi_large.csv"), row.names = FALSE)
data(wine, package = "ordinal")
write.csv(wine[, c("response", "rating", "temp", "contact", "bottle", "judge")],
          file.path(out_dir, "wine.csv"), row.names = FALSE)

summarise_fit <- function(fit) {
  k <- length(fit$alpha)
  list(loglik = as.numeric(logLik(fit)), thresholds = as.list(fit$alpha),
       coefficients = as.list(fit$beta), log_sd = unname(fit$optRes$par[length(fit$optRes$par)]),
       sd = unname(sqrt(VarCorr(fit)[[1]][1, 1])),
       se = as.list(sqrt(diag(vcov(fit)))), vcov = unname(vcov(fit)),
       max_grad = max(abs(fit$gradient)), aic = AIC(fit), bic = BIC(fit), nobs = nobs(fit))
}

# Type 3 contrasts on treatment-coded columns: equal-weight averages of cell coefficient
# vectors (SAS Type 3 for a full-rank crossed design).
type3_contrasts <- function(X, groups, times) {
  G <- length(groups); Tn <- length(times); p <- ncol(X)
  cellvec <- function(g, t) {
    v <- numeric(p); names(v) <- colnames(X)
    if (g > 1) v[paste0("arm", groups[g])] <- 1
    if (t > 1) v[paste0("visit", times[t])] <- 1
    if (g > 1 && t > 1) v[paste0("arm", groups[g], ":visit", times[t])] <- 1
    v
  }
  gm <- t(sapply(1:G, function(g) rowMeans(sapply(1:Tn, function(t) cellvec(g, t)))))
  tm <- t(sapply(1:Tn, function(t) rowMeans(sapply(1:G, function(g) cellvec(g, t)))))
  inter <- grep(":", colnames(X))
  list(group = gm[-1, , drop = FALSE] - matrix(gm[1, ], G - 1, p, byrow = TRUE),
       time = tm[-1, , drop = FALSE] - matrix(tm[1, ], Tn - 1, p, byrow = TRUE),
       `group:time` = diag(p)[inter, , drop = FALSE])
}

fit_cgi <- function(d, rhs, nagq) {
  d$y <- factor(d$cgi, ordered = TRUE)
  d$arm <- factor(d$arm); d$visit <- factor(d$visit)
  mf <- model.frame(as.formula(paste("~", rhs)), d)
  X <- model.matrix(as.formula(paste("~", rhs)), mf)[, -1, drop = FALSE]
  full <- clmm(y ~ X + (1 | subject), data = list(y = d$y, X = X, subject = d$subject),
               nAGQ = nagq, control = ctrl)
  res <- summarise_fit(full)
  beta <- full$beta; V <- vcov(full)[names(beta), names(beta)]
  Ls <- type3_contrasts(X, levels(d$arm), levels(d$visit))
  res$type3 <- lapply(names(Ls), function(e) {
    L <- Ls[[e]]; lb <- L %*% beta
    wald <- as.numeric(t(lb) %*% solve(L %*% V %*% t(L), lb))
    XZ <- X %*% Null(t(L))
    red <- clmm(y ~ XZ + (1 | subject), data = list(y = d$y, XZ = XZ, subject = d$subject),
                nAGQ = nagq, control = ctrl)
    list(effect = e, num_df = nrow(L), wald_chi2 = wald,
         lr_chi2 = 2 * (as.numeric(logLik(full)) - as.numeric(logLik(red))))
  })
  res$terms <- colnames(X)
  res
}

n_warnings <- 0L
quiet <- function(expr) withCallingHandlers(expr, warning = function(w) {
  n_warnings <<- n_warnings + 1L
  invokeRestart("muffleWarning")
})
ref <- quiet(list(
  generated = list(R = R.version.string, ordinal = as.character(packageVersion("ordinal")),
                   date = as.character(Sys.Date())),
  wine = lapply(c(laplace = 1, agq10 = 10), function(k)
    summarise_fit(clmm(rating ~ temp + contact + (1 | judge), data = wine, nAGQ = k,
                       control = ctrl))),
  cgi_small = lapply(c(laplace = 1, agq10 = 10), function(k)
    fit_cgi(small, "arm * visit", k)),
  cgi_large = lapply(c(laplace = 1, agq5 = 5), function(k)
    fit_cgi(large, "arm * visit + age + sex", k))
))
ref$generated$inner_newton_warnings <- n_warnings
writeLines(toJSON(ref, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(out_dir, "reference.json"))
cat("wrote", file.path(out_dir, "reference.json"), "\n")
