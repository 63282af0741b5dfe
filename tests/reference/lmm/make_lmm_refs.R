# Reference numbers for tests/engine/test_lmm.py, from lme4 (default lmer settings).
# Run from the repository root:   Rscript tests/reference/lmm/make_lmm_refs.R
# Needs lme4 and jsonlite. Writes tests/reference/lmm/<case>.json (and the simulated data sets as CSV).
# sleepstudy, pastes, penicillin and orthodont.csv are lme4 / nlme data sets as exported to CSV for the
# project's public reference cases (kept here so the tests read nothing outside the repository).
# Versions used are recorded in each JSON file ("r_version", "lme4_version") and in VERSIONS.txt.
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
out <- "tests/reference/lmm"

sleep <- read.csv(file.path(out, "sleepstudy.csv")); sleep$Subject <- factor(sleep$Subject)
pastes <- read.csv(file.path(out, "pastes.csv")); pastes$batch <- factor(pastes$batch); pastes$cask <- factor(pastes$cask)
pen <- read.csv(file.path(out, "penicillin.csv")); pen$plate <- factor(pen$plate); pen$sample <- factor(pen$sample)
orth <- read.csv(file.path(out, "orthodont.csv")); orth$Subject <- factor(orth$Subject); orth$Sex <- factor(orth$Sex)

# Simulated data sets (written so the Python tests read exactly the same numbers).
set.seed(20240501)
crossed <- expand.grid(subj = sprintf("s%02d", 1:30), item = sprintf("i%02d", 1:12))
crossed <- crossed[sample(nrow(crossed), 300), ]
crossed$x <- round(rnorm(nrow(crossed)), 3)
su <- MASS::mvrnorm(30, c(0, 0), matrix(c(4, 1, 1, 1), 2)); iu <- MASS::mvrnorm(12, c(0, 0), matrix(c(2, -0.5, -0.5, 0.8), 2))
si <- as.integer(factor(crossed$subj)); ii <- as.integer(factor(crossed$item))
crossed$y <- round(5 + 0.5 * crossed$x + su[si, 1] + su[si, 2] * crossed$x + iu[ii, 1] + iu[ii, 2] * crossed$x +
                   rnorm(nrow(crossed)), 4)
write.csv(crossed, file.path(out, "crossed_sim.csv"), row.names = FALSE)

g <- 40; k <- 8
q3 <- data.frame(g = rep(sprintf("g%02d", 1:g), each = k), x1 = round(rnorm(g * k), 3), x2 = round(runif(g * k, -1, 1), 3))
G <- matrix(c(4, 1, -0.5, 1, 2, 0.3, -0.5, 0.3, 1), 3)
b <- MASS::mvrnorm(g, rep(0, 3), G); gi <- as.integer(factor(q3$g))
q3$y <- round(1 + q3$x1 - q3$x2 + b[gi, 1] + b[gi, 2] * q3$x1 + b[gi, 3] * q3$x2 + rnorm(g * k, sd = 0.7), 4)
write.csv(q3, file.path(out, "q3_sim.csv"), row.names = FALSE)

# A small data set without any group effect: lme4 puts the intercept variance on the boundary.
sing <- NULL
for (seed in 1:200) {
  set.seed(seed)
  d <- data.frame(grp = rep(sprintf("g%d", 1:8), each = 5), x = round(rnorm(40), 3))
  d$y <- round(2 + 0.5 * d$x + rnorm(40), 4)
  if (isSingular(lmer(y ~ x + (1 | grp), d))) { sing <- d; break }
}
write.csv(sing, file.path(out, "singular_sim.csv"), row.names = FALSE)

# Random intercepts only, fitted with a correlated random slope: the slope's factor is singular.
for (seed in 1:200) {
  set.seed(seed)
  d <- data.frame(clinic = rep(sprintf("c%02d", 1:30), each = 8), x = rep(0:7, 30))
  d$y <- round(1 + 0.3 * d$x + rnorm(30, 0, 2)[as.integer(factor(d$clinic))] + rnorm(240), 4)
  if (isSingular(lmer(y ~ x + (x | clinic), d))) { sing_slope <- d; break }
}
sing_slope$item <- rep(sprintf("i%02d", 1:40), 6)  # a crossed factor without any effect
write.csv(sing_slope, file.path(out, "singular_slope.csv"), row.names = FALSE)

cases <- list(
  sleepstudy_ri      = list(Reaction ~ Days + (1 | Subject), sleep, TRUE),
  sleepstudy_ri_ml   = list(Reaction ~ Days + (1 | Subject), sleep, FALSE),
  sleepstudy_rs      = list(Reaction ~ Days + (Days | Subject), sleep, TRUE),
  sleepstudy_rs_ml   = list(Reaction ~ Days + (Days | Subject), sleep, FALSE),
  sleepstudy_uncorr  = list(Reaction ~ Days + (Days || Subject), sleep, TRUE),
  pastes_nested      = list(strength ~ 1 + (1 | batch/cask), pastes, TRUE),
  penicillin_crossed = list(diameter ~ 1 + (1 | plate) + (1 | sample), pen, TRUE),
  penicillin_ml      = list(diameter ~ 1 + (1 | plate) + (1 | sample), pen, FALSE),
  orthodont_cat      = list(distance ~ factor(age) * Sex + (1 | Subject), orth, TRUE),
  crossed_slope_subj = list(y ~ x + (x | subj) + (1 | item), crossed, TRUE),
  crossed_slope_item = list(y ~ x + (1 | subj) + (x | item), crossed, TRUE),
  # lme4's default tolerances stop this one short (max|grad| 0.004); bobyqa with a tiny final radius finds the optimum.
  q3_slopes          = list(y ~ x1 + x2 + (x1 + x2 | g), q3, TRUE,
                            lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12))),
  singular_sim       = list(y ~ x + (1 | grp), sing, TRUE),
  singular_slope     = list(y ~ x + (x | clinic), sing_slope, TRUE),
  # the item variance is tiny but not zero: an optimiser must not stop on the boundary
  crossed_flat       = list(y ~ x + (1 | item) + (x | clinic), sing_slope, TRUE)
)

for (name in names(cases)) {
  cs <- cases[[name]]
  ctrl <- if (length(cs) > 3) cs[[4]] else lmerControl()
  m <- lmer(cs[[1]], data = cs[[2]], REML = cs[[3]], control = ctrl)
  vc <- VarCorr(m)
  re <- as.data.frame(ranef(m, condVar = TRUE))
  ranefs <- lapply(split(re, re$grpvar, drop = TRUE), function(r) {
    terms <- unique(as.character(r$term))
    list(levels = as.character(unique(r$grp)),
         terms = terms,
         condval = lapply(terms, function(t) r$condval[r$term == t]),
         condsd = lapply(terms, function(t) r$condsd[r$term == t]))
  })
  res <- list(
    formula = deparse(cs[[1]]), reml = cs[[3]], nobs = nobs(m), ngrps = as.list(ngrps(m)),
    loglik = as.numeric(logLik(m)), deviance = -2 * as.numeric(logLik(m)), aic = AIC(m), bic = BIC(m),
    sigma = sigma(m), theta = unname(getME(m, "theta")),
    beta = as.list(fixef(m)), se = unname(sqrt(diag(as.matrix(vcov(m))))), vcov = unname(as.matrix(vcov(m))),
    varcorr = lapply(names(vc), function(gn) list(group = gn, names = colnames(vc[[gn]]), cov = unname(vc[[gn]][, , drop = FALSE]))),
    ranef = ranefs, singular = isSingular(m), lme4_messages = m@optinfo$conv$lme4$messages,
    r_version = R.version.string, lme4_version = as.character(packageVersion("lme4")))
  writeLines(toJSON(res, digits = NA, auto_unbox = TRUE, pretty = TRUE, matrix = "rowmajor"),
             file.path(out, paste0(name, ".json")))
  cat(name, "loglik", res$loglik, "singular", res$singular, "\n")
}
source("tests/reference/versions.R")
write_versions("make_lmm_refs.R", c("lme4"), dir = out)
