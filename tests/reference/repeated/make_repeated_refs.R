# Reference values for tests/engine/test_repeated.py (nlme::gls and nlme::lme).
#
# Run from this folder:  Rscript make_repeated_refs.R
# Reads orthodont_long.csv (nlme's Orthodont plus occ = visit 1..4, agef = age as a factor),
# writes orthodont_missing.csv (some visits dropped), one ref_<case>.json per fitted case, and
# infer_gls.json (emmeans' Satterthwaite df for gls) and infer_lmer.json (lmerTest / pbkrtest
# df and Kenward-Roger covariance for the random-slope model).
# Made with R 4.2.2, nlme 3.1-162, lme4 1.1-31, lmerTest 3.1-3, pbkrtest 0.5.2, emmeans 1.8.4.
# The orthodont_{cs,csh,ar1,arh1,toep,un}.json files (the public cases, results-file shape) are written
# at the end through ../contract_refs.R. Versions: VERSIONS.txt, written by this script.
suppressPackageStartupMessages({ library(nlme); library(jsonlite) })

full <- read.csv("orthodont_long.csv")
prep <- function(d) {
  d$agef <- factor(d$agef, levels = c(8, 10, 12, 14))
  d$Sex <- relevel(factor(d$Sex), "Male")
  d$Subject <- factor(d$Subject)
  d
}
# Missing visits: a gap, never a shift. M01 and F01 stay complete (marginal covariance is read
# from M01); some subjects lose one visit, two lose two, one keeps a single visit.
drop <- c(6, 11, 16, 21, 26, 31, 32, 45, 50, 55, 60, 72, 73, 78, 79, 80, 94, 99, 104)
miss <- full[-drop, ]
write.csv(miss, "orthodont_missing.csv", row.names = FALSE)
full <- prep(full)
miss <- prep(miss)

fixed_table <- function(fit) {
  tt <- summary(fit)$tTable
  lapply(seq_len(nrow(tt)), function(i) list(term = rownames(tt)[i], estimate = tt[i, 1],
                                              std_error = tt[i, 2], t_value = tt[i, "t-value"]))
}
common <- function(fit, structure, method) {
  ll <- logLik(fit)
  list(method = method, structure = structure, nobs = fit$dims$N, loglik = as.numeric(ll),
       df = attr(ll, "df"), aic = AIC(fit), bic = BIC(fit), sigma = fit$sigma,
       fixed_effects = fixed_table(fit), fitted_head = unname(fitted(fit)[1:12]),
       pearson_head = unname(residuals(fit, type = "pearson")[1:12]))
}
gls_case <- function(name, structure, data, correlation = NULL, weights = NULL, method = "REML") {
  fit <- gls(distance ~ agef + Sex, data = data, correlation = correlation, weights = weights,
             method = method)
  out <- common(fit, structure, method)
  if (is.null(correlation)) {  # getVarCov.gls refuses uncorrelated errors: build the diagonal
    w <- if (is.null(weights)) rep(1, 4) else varWeights(fit$modelStruct$varStruct)[data$Subject == "M01"]
    V <- diag(fit$sigma^2 / w^2)
  } else {
    V <- unclass(getVarCov(fit, individual = "M01"))
    attr(V, "dimnames") <- NULL
  }
  out$marginal_covariance <- V
  out$coef_structure <- as.list(coef(fit$modelStruct, unconstrained = FALSE))
  write_json(out, sprintf("ref_%s.json", name), digits = NA, auto_unbox = TRUE, pretty = TRUE)
}
lme_case <- function(name, structure, data, random, correlation = NULL, weights = NULL, method = "REML") {
  fit <- lme(distance ~ agef + Sex, data = data, random = random, correlation = correlation,
             weights = weights, method = method, control = lmeControl(msMaxIter = 500))
  out <- common(fit, structure, method)
  V <- unclass(getVarCov(fit, individuals = "M01", type = "marginal"))[[1]]
  attr(V, "dimnames") <- NULL
  out$marginal_covariance <- V
  G <- unclass(getVarCov(fit))
  attr(G, "dimnames") <- NULL
  out$G <- G
  re <- ranef(fit)
  out$blups <- list(levels = rownames(re), values = unname(as.matrix(re)))
  out$coef_structure <- as.list(coef(fit$modelStruct, unconstrained = FALSE))
  write_json(out, sprintf("ref_%s.json", name), digits = NA, auto_unbox = TRUE, pretty = TRUE)
}
het <- varIdent(form = ~ 1 | agef)

# complete data, the two structures the shared references lack, and ML
gls_case("id", "ID", full)
gls_case("diag", "DIAG", full, weights = het)
gls_case("un_ml", "UN", full, corSymm(form = ~ occ | Subject), het, method = "ML")
gls_case("ar1_ml", "AR1", full, corAR1(form = ~ occ | Subject), method = "ML")

# missing visits (gaps in the occ index)
gls_case("miss_cs", "CS", miss, corCompSymm(form = ~ 1 | Subject))
gls_case("miss_csh", "CSH", miss, corCompSymm(form = ~ 1 | Subject), het)
gls_case("miss_ar1", "AR1", miss, corAR1(form = ~ occ | Subject))
gls_case("miss_arh1", "ARH1", miss, corAR1(form = ~ occ | Subject), het)
gls_case("miss_toep", "TOEP", miss, corARMA(form = ~ occ | Subject, p = 3))
gls_case("miss_un", "UN", miss, corSymm(form = ~ occ | Subject), het)
gls_case("miss_diag", "DIAG", miss, weights = het)

# random effects together with a residual structure
lme_case("ri_ar1", "AR1", full, ~ 1 | Subject, corAR1(form = ~ occ | Subject))
lme_case("ri_ar1_ml", "AR1", full, ~ 1 | Subject, corAR1(form = ~ occ | Subject), method = "ML")
lme_case("miss_ri_ar1", "AR1", miss, ~ 1 | Subject, corAR1(form = ~ occ | Subject))
lme_case("miss_rs_id", "ID", miss, ~ agen | Subject)

# Small-sample inference through the CovarianceModel protocol (needs emmeans, lme4, lmerTest, pbkrtest).
# 1. emmeans' Satterthwaite df for gls (from nlme's apVar) where emmeans has the analytic method;
#    "appx-satterthwaite" rows are recorded but not compared.
suppressPackageStartupMessages({ library(emmeans); library(lme4); library(lmerTest); library(pbkrtest) })
gls_fits <- list(
  CS = gls(distance ~ agef + Sex, data = full, correlation = corCompSymm(form = ~ 1 | Subject)),
  CSH = gls(distance ~ agef + Sex, data = full, correlation = corCompSymm(form = ~ 1 | Subject), weights = het),
  AR1 = gls(distance ~ agef + Sex, data = full, correlation = corAR1(form = ~ occ | Subject)),
  ARH1 = gls(distance ~ agef + Sex, data = full, correlation = corAR1(form = ~ occ | Subject), weights = het),
  TOEP = gls(distance ~ agef + Sex, data = full, correlation = corARMA(form = ~ occ | Subject, p = 3)),
  UN = gls(distance ~ agef + Sex, data = full, correlation = corSymm(form = ~ occ | Subject), weights = het))
emm_rows <- function(fit, spec) {
  s <- suppressMessages(summary(emmeans(fit, spec, mode = "satterthwaite")))
  list(levels = as.character(s[[1]]), emmean = s$emmean, se = s$SE, df = s$df,
       method = attr(s, "mesg")[grepl("Degrees-of-freedom", attr(s, "mesg"))])
}
# UN has no analytic method in emmeans: its "appx-satterthwaite" df come from random perturbations of the
# fit, so the seed makes them reproducible (they vary by ~10% between seeds; the tests do not compare them)
set.seed(20240601)
infer_gls <- lapply(gls_fits, function(fit) list(agef = emm_rows(fit, ~ agef), Sex = emm_rows(fit, ~ Sex)))
write_json(infer_gls, "infer_gls.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)

# 2. lmerTest (Satterthwaite) and pbkrtest (Kenward-Roger) for the random-slope model with ID
#    residuals on the data with missing visits: the same likelihood as lme_case("miss_rs_id").
m <- lmer(distance ~ agef + Sex + (agen | Subject), data = miss, REML = TRUE,
          control = lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12)))
sat <- summary(m)$coefficients
kr <- summary(m, ddf = "Kenward-Roger")$coefficients
V <- as.matrix(vcovAdj(m)); dimnames(V) <- NULL
write_json(list(loglik = as.numeric(logLik(m)), term = rownames(sat), estimate = unname(sat[, 1]),
                se = unname(sat[, 2]), df_satterthwaite = unname(sat[, "df"]), se_kr = unname(kr[, 2]),
                df_kr = unname(kr[, "df"]), vcov_kr = V),
           "infer_lmer.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)

# The public structure cases orthodont_{cs,csh,ar1,arh1,toep,un}.json, in the shape of the results file
# (nlme::gls, REML, distance ~ agef + Sex, repeated over age within Subject; variance strata named by age).
SPEC_DIR <- tempdir(); REF_DIR <- "."; DATA_DIR <- "."; VARIDENT_BY_INDEX <- TRUE
LMER_CONTROL <- NULL  # unused here: no lmer fits
source("../contract_refs.R")
for (s in c("CS", "CSH", "AR1", "ARH1", "TOEP", "UN"))
  rep_case(paste0("orthodont_", tolower(s)), "orthodont_long.csv", "distance ~ agef + Sex", s, "Subject", "age",
           factors = c("agef", "Subject"), refs = list(Sex = "Male"))
source("../versions.R")
write_versions("make_repeated_refs.R", c("nlme", "lme4", "lmerTest", "pbkrtest", "emmeans"))
