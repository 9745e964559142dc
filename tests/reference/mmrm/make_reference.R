# Reference numbers for the MMRM engine (tests/core/stats/mmrm/test_mmrm_against_R.py).
# Run from the repository root:  Rscript tests/reference/mmrm/make_reference.R
# R 4.2.2, nlme, emmeans, lme4, lmerTest, pbkrtest (Debian packages). Writes r_reference.json.
suppressPackageStartupMessages({
  library(nlme); library(emmeans); library(lmerTest); library(pbkrtest); library(jsonlite)
})
options(contrasts = c("contr.treatment", "contr.poly"))
here <- "tests/reference/mmrm"

# ---- seeded trial-like data: 2 arms x 15, 3 visits, dropout (written for the Python tests) ----
make_trial <- function(seed, n_per_arm, visits, drop_prob) {
  set.seed(seed)
  n <- 2 * n_per_arm
  subj <- sprintf("S%02d", seq_len(n))
  arm <- rep(c("ketamine", "midazolam"), each = n_per_arm)
  b <- rnorm(n, 0, 6)
  rows <- list()
  for (i in seq_len(n)) {
    for (v in seq_along(visits)) {
      mu <- 42 - (v - 1) * ifelse(arm[i] == "ketamine", 9, 3)
      y <- mu + b[i] + rnorm(1, 0, 7)
      rows[[length(rows) + 1]] <- data.frame(subject = subj[i], arm = arm[i],
        visit = visits[v], caps5 = round(y, 3), age = round(30 + (i %% 17) * 1.7, 1),
        sex = ifelse(i %% 3 == 0, "M", "F"))
    }
  }
  d <- do.call(rbind, rows)
  # dropout: after baseline, a subject may miss a visit
  miss <- runif(nrow(d)) < drop_prob & d$visit != visits[1]
  d$caps5[miss] <- NA
  d
}
trial <- make_trial(20240611, 15, c("baseline", "week1", "week2"), 0.06)
write.csv(trial, file.path(here, "trial_seeded.csv"), row.names = FALSE)
dropout <- make_trial(7, 40, c("v0", "v1", "v2", "v3"), 0.25)
write.csv(dropout, file.path(here, "dropout_seeded.csv"), row.names = FALSE)

fev <- read.csv(file.path(here, "fev_data.csv"))
data(Orthodont, package = "nlme")
ortho <- as.data.frame(Orthodont)
ortho$Subject <- as.character(ortho$Subject)
ortho$Sex <- as.character(ortho$Sex)
ortho$age <- paste0("age", ortho$age)
write.csv(ortho, file.path(here, "orthodont.csv"), row.names = FALSE)

fit_one <- function(d, spec, cov) {
  d <- d[!is.na(d[[spec$y]]), ]
  d$g <- factor(d[[spec$group]], levels = spec$glev)
  d$t <- factor(d[[spec$time]], levels = spec$tlev)
  d$tn <- as.integer(d$t)
  d$s <- factor(d[[spec$subject]])
  d$yy <- d[[spec$y]]
  for (cv in spec$class_cov) d[[cv]] <- factor(d[[cv]], levels = sort(unique(d[[cv]])))
  rhs <- paste(c("g * t", spec$covs), collapse = " + ")
  f <- as.formula(paste("yy ~", rhs))
  ctl <- glsControl(tolerance = 1e-12, msTol = 1e-12, maxIter = 500, msMaxIter = 500)
  mk <- function(method) {
    cl <- switch(cov,
      cs = list(correlation = corCompSymm(form = ~ 1 | s)),
      un = list(correlation = corSymm(form = ~ tn | s), weights = varIdent(form = ~ 1 | t)),
      ar1 = list(correlation = corAR1(form = ~ tn | s)),
      csh = list(correlation = corCompSymm(form = ~ 1 | s), weights = varIdent(form = ~ 1 | t)),
      toep = list(correlation = corARMA(form = ~ tn | s, p = length(spec$tlev) - 1)))
    do.call(gls, c(list(model = f, data = d, method = method, control = ctl), cl))
  }
  fit <- mk("REML")
  ml <- mk("ML")
  em <- emmeans(fit, ~ g | t, mode = "df.error", data = d)
  lsm <- as.data.frame(summary(em))
  dif <- as.data.frame(summary(contrast(em, method = "revpairwise", reverse = TRUE)))
  X <- model.matrix(f, d)
  sig <- getVarCov(fit, individual = levels(d$s)[which.max(table(d$s))])
  # full t x t covariance from the fit
  cs_full <- NULL
  out <- list(
    covariance = cov,
    reml_loglik = as.numeric(logLik(fit, REML = TRUE)),
    ml_loglik = as.numeric(logLik(ml)),
    half_logdet_xtx = 0.5 * as.numeric(determinant(crossprod(X))$modulus),
    aic = AIC(fit), bic = BIC(fit),
    coef = as.list(coef(fit)), se = as.list(sqrt(diag(vcov(fit)))),
    sigma_subject = matrix(as.numeric(sig), nrow = nrow(sig)),
    lsmeans = lsm[, c("g", "t", "emmean", "SE", "df")],
    diffs = dif[, c("t", "estimate", "SE", "df", "t.ratio", "p.value")]
  )
  # Type 3 F (Wald, sum-to-zero contrasts) from the same likelihood
  op <- options(contrasts = c("contr.sum", "contr.poly"))
  fit_s <- mk("REML")
  a <- anova(fit_s, type = "marginal")
  options(op)
  out$type3 <- data.frame(effect = rownames(a), F = a[["F-value"]], numDF = a[["numDF"]])
  out
}

specs <- list(
  fev = list(y = "FEV1", subject = "USUBJID", group = "ARMCD", time = "AVISIT",
             glev = c("TRT", "PBO"), tlev = c("VIS1", "VIS2", "VIS3", "VIS4"),
             covs = c("RACE", "SEX"), class_cov = c("RACE", "SEX"), data = fev),
  trial = list(y = "caps5", subject = "subject", group = "arm", time = "visit",
               glev = c("ketamine", "midazolam"), tlev = c("baseline", "week1", "week2"),
               covs = character(0), class_cov = character(0), data = trial),
  dropout = list(y = "caps5", subject = "subject", group = "arm", time = "visit",
                 glev = c("ketamine", "midazolam"), tlev = c("v0", "v1", "v2", "v3"),
                 covs = c("age", "sex"), class_cov = c("sex"), data = dropout),
  orthodont = list(y = "distance", subject = "Subject", group = "Sex", time = "age",
                   glev = c("Female", "Male"), tlev = c("age8", "age10", "age12", "age14"),
                   covs = character(0), class_cov = character(0), data = ortho)
)
res <- list()
for (nm in names(specs)) {
  for (cov in c("cs", "un", "ar1", "csh", "toep")) {
    key <- paste(nm, cov, sep = "_")
    r <- tryCatch(fit_one(specs[[nm]]$data, specs[[nm]], cov), error = function(e) NULL)
    if (!is.null(r)) res[[key]] <- r else message("skipped ", key)
  }
}

# ---- random intercept (CS with between >= 0): lmerTest Satterthwaite and pbkrtest KR ----
lmer_ref <- function(d, spec) {
  d <- d[!is.na(d[[spec$y]]), ]
  d$g <- factor(d[[spec$group]], levels = spec$glev)
  d$t <- factor(d[[spec$time]], levels = spec$tlev)
  d$s <- factor(d[[spec$subject]]); d$yy <- d[[spec$y]]
  op <- options(contrasts = c("contr.sum", "contr.poly"))
  m <- lmerTest::lmer(yy ~ g * t + (1 | s), data = d, REML = TRUE,
                      control = lmerControl(optimizer = "bobyqa",
                                            optCtrl = list(rhoend = 1e-12)))
  sat <- anova(m, type = 3, ddf = "Satterthwaite")
  kr <- anova(m, type = 3, ddf = "Kenward-Roger")
  options(op)
  em_s <- emmeans(m, ~ g | t, lmer.df = "satterthwaite")
  em_k <- emmeans(m, ~ g | t, lmer.df = "kenward-roger")
  vc <- as.data.frame(VarCorr(m))
  list(
    reml_loglik = as.numeric(logLik(m)),
    between = vc$vcov[1], within = vc$vcov[2],
    sat = data.frame(effect = rownames(sat), F = sat[["F value"]], numDF = sat$NumDF,
                     denDF = sat$DenDF),
    kr = data.frame(effect = rownames(kr), F = kr[["F value"]], numDF = kr$NumDF,
                    denDF = kr$DenDF),
    lsm_sat = as.data.frame(summary(em_s))[, c("g", "t", "emmean", "SE", "df")],
    lsm_kr = as.data.frame(summary(em_k))[, c("g", "t", "emmean", "SE", "df")],
    dif_sat = as.data.frame(summary(contrast(em_s, method = "revpairwise", reverse = TRUE)))[
      , c("t", "estimate", "SE", "df", "t.ratio", "p.value")],
    dif_kr = as.data.frame(summary(contrast(em_k, method = "revpairwise", reverse = TRUE)))[
      , c("t", "estimate", "SE", "df", "t.ratio", "p.value")]
  )
}
res[["trial_lmer"]] <- lmer_ref(trial, specs$trial)
res[["orthodont_lmer"]] <- lmer_ref(ortho, specs$orthodont)
res[["dropout_lmer"]] <- lmer_ref(dropout, specs$dropout)

res[["_meta"]] <- list(R = R.version.string, nlme = as.character(packageVersion("nlme")),
  emmeans = as.character(packageVersion("emmeans")),
  lmerTest = as.character(packageVersion("lmerTest")),
  pbkrtest = as.character(packageVersion("pbkrtest")), date = as.character(Sys.Date()))
writeLines(toJSON(res, digits = NA, auto_unbox = TRUE, pretty = TRUE),
           file.path(here, "r_reference.json"))
