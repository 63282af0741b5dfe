# Reference values for tests/engine/test_repeated.py (nlme::gls and nlme::lme).
#
# Run from this folder:  Rscript make_repeated_refs.R
# Reads orthodont_long.csv (nlme's Orthodont plus occ = visit 1..4, agef = age as a factor),
# writes orthodont_missing.csv (some visits dropped) and one ref_<case>.json per case.
# The orthodont_{cs,csh,ar1,arh1,toep,un}.json files next to this script are copies of the
# project's shared references (same conventions, made with the same nlme).
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
       fixed_effects = fixed_table(fit))
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
