# Reference numbers for MixGUI's generalized linear mixed models (tests/engine/glmm, tests/results).
# Run from this folder:  Rscript make_glmm_refs.R
# Writes the data sets as CSV and one JSON per case with R's numbers and the R / package versions.
suppressPackageStartupMessages({
  library(lme4); library(MASS); library(glmmTMB); library(emmeans); library(performance); library(jsonlite)
})
versions <- list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
                 glmmTMB = as.character(packageVersion("glmmTMB")), MASS = as.character(packageVersion("MASS")),
                 emmeans = as.character(packageVersion("emmeans")),
                 performance = as.character(packageVersion("performance")))

# ---- data ----------------------------------------------------------------------------------
cb <- cbpp; cb$herd <- as.character(cb$herd); cb$period <- as.character(cb$period)
write.csv(cb, "cbpp.csv", row.names = FALSE)
ba <- bacteria; ba$week2 <- as.numeric(ba$week > 2); ba$ID <- as.character(ba$ID)
write.csv(ba[, c("y", "ap", "hilo", "week", "ID", "trt", "week2")], "bacteria.csv", row.names = FALSE)
ep <- epil; ep$subject <- as.character(ep$subject)
write.csv(ep[, c("y", "trt", "base", "age", "V4", "subject", "period", "lbase", "lage")], "epil.csv", row.names = FALSE)
gt <- grouseticks; gt$cHEIGHT <- gt$HEIGHT - mean(gt$HEIGHT)
gt$INDEX <- as.character(gt$INDEX); gt$BROOD <- as.character(gt$BROOD); gt$LOCATION <- as.character(gt$LOCATION)
gt$YEAR <- as.character(gt$YEAR)
write.csv(gt[, c("INDEX", "TICKS", "BROOD", "HEIGHT", "YEAR", "LOCATION", "cHEIGHT")], "grouseticks.csv", row.names = FALSE)
va <- VerbAgg; va$id <- as.character(va$id); va$item <- as.character(va$item)
va$btype <- as.character(va$btype); va$situ <- as.character(va$situ); va$Gender <- as.character(va$Gender)
write.csv(va[, c("Anger", "Gender", "item", "resp", "id", "btype", "situ", "mode", "r2")], "verbagg.csv", row.names = FALSE)

# ---- helpers -------------------------------------------------------------------------------
vc_rows <- function(m) {
  v <- as.data.frame(VarCorr(m))
  lapply(seq_len(nrow(v)), function(i) list(group = v$grp[i], var1 = v$var1[i],
         var2 = if (is.na(v$var2[i])) NULL else v$var2[i], vcov = v$vcov[i], sdcor = v$sdcor[i]))
}
fixed_rows <- function(m) {
  s <- coef(summary(m))
  lapply(seq_len(nrow(s)), function(i) list(term = rownames(s)[i], estimate = s[i, 1], std_error = s[i, 2],
                                            z_value = s[i, 3], p_value = s[i, 4]))
}
out <- list()
# glmer's Hessian (deriv12 on a deviance with PIRLS tolerance ~1e-7) carries about 1 % error in the
# standard errors of Laplace fits; glmmTMB differentiates the same Laplace deviance exactly (TMB's
# automatic differentiation), so its standard errors are the reference for Laplace fits.
tmb_se <- function(m) {
  if (m@devcomp$dims[["nAGQ"]] != 1) return(NULL)
  t <- glmmTMB(formula(m), data = eval(m@call$data), family = family(m))
  list(loglik = as.numeric(logLik(t)), std_error = unname(sqrt(diag(vcov(t)$cond))),
       estimate = unname(fixef(t)$cond))
}
case <- function(name, m, formula, family, link, data, nagq = 1, extra = list()) {
  r <- c(list(tmb = tmb_se(m), name = name, data = data, formula = formula, family = family, link = link, nagq = nagq,
              loglik = as.numeric(logLik(m)), aic = AIC(m), bic = BIC(m), nobs = nobs(m),
              fixed = fixed_rows(m), varcorr = vc_rows(m), theta = getME(m, "theta"),
              blups = lapply(ranef(m), function(d) list(levels = rownames(d), values = d[[1]])),
              versions = versions), extra)
  write(toJSON(r, auto_unbox = TRUE, digits = NA, null = "null", na = "null"), paste0(name, ".json"))
}
ci_rows <- function(e) { d <- as.data.frame(e); lapply(seq_len(nrow(d)), function(i) as.list(d[i, ])) }
r2 <- function(m) { r <- r2_nakagawa(m); list(r2_conditional = unname(r$R2_conditional), r2_marginal = unname(r$R2_marginal)) }
iccv <- function(m) { r <- icc(m); list(icc_adjusted = r$ICC_adjusted, icc_unadjusted = r$ICC_unadjusted) }

# ---- cases ---------------------------------------------------------------------------------
m <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cb, binomial)
em <- emmeans(m, ~ period, type = "response")
pw <- pairs(em, adjust = "tukey")
case("cbpp", m, "incidence ~ period + (1 | herd)", "binomial", "logit", "cbpp.csv",
     extra = list(trials = "size", emmeans = ci_rows(em), contrasts = ci_rows(summary(pw, infer = TRUE)),
                  r2 = r2(m), icc = iccv(m)))
for (k in c(7, 25)) {
  m <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cb, binomial, nAGQ = k)
  case(paste0("cbpp_agq", k), m, "incidence ~ period + (1 | herd)", "binomial", "logit", "cbpp.csv", nagq = k,
       extra = list(trials = "size"))
}
m <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cb, binomial(link = "probit"))
case("cbpp_probit", m, "incidence ~ period + (1 | herd)", "binomial", "probit", "cbpp.csv", extra = list(trials = "size"))
m <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cb, binomial(link = "cloglog"))
case("cbpp_cloglog", m, "incidence ~ period + (1 | herd)", "binomial", "cloglog", "cbpp.csv", extra = list(trials = "size"))

m <- glmer(y ~ trt + week2 + (1 | ID), ba, binomial)
g0 <- glm(y ~ trt + week2, ba, family = binomial)
case("bacteria", m, "y ~ trt + week2 + (1 | ID)", "binomial", "logit", "bacteria.csv",
     extra = list(glm_loglik = as.numeric(logLik(g0)), r2 = r2(m), icc = iccv(m),
                  emmeans = ci_rows(emmeans(m, ~ trt, type = "response")),
                  contrasts = ci_rows(summary(pairs(emmeans(m, ~ trt, type = "response"), adjust = "none"), infer = TRUE))))
m <- glmer(y ~ trt + week2 + (1 | ID), ba, binomial(link = "probit"))
case("bacteria_probit", m, "y ~ trt + week2 + (1 | ID)", "binomial", "probit", "bacteria.csv")
m <- glmer(y ~ trt + week2 + (1 | ID), ba, binomial, nAGQ = 9)
case("bacteria_agq9", m, "y ~ trt + week2 + (1 | ID)", "binomial", "logit", "bacteria.csv", nagq = 9)

m <- glmer(y ~ lbase * trt + lage + V4 + (1 | subject), ep, poisson)
od <- check_overdispersion(m)
case("epil", m, "y ~ lbase * trt + lage + V4 + (1 | subject)", "poisson", "log", "epil.csv",
     extra = list(r2 = r2(m), icc = iccv(m), overdispersion = list(chisq = od$chisq_statistic, ratio = od$dispersion_ratio,
                  rdf = od$residual_df, p = od$p_value),
                  emmeans = ci_rows(emmeans(m, ~ trt, type = "response")),
                  contrasts = ci_rows(summary(pairs(emmeans(m, ~ trt, type = "response"), adjust = "none"), infer = TRUE))))
m <- glmer(y ~ trt + lage + V4 + offset(log(base)) + (1 | subject), ep, poisson)
case("epil_offset", m, "y ~ trt + lage + V4 + offset(log(base)) + (1 | subject)", "poisson", "log", "epil.csv")
m <- glmer(y ~ lbase * trt + lage + period + (1 + period | subject), ep, poisson)
case("epil_slope", m, "y ~ lbase * trt + lage + period + (1 + period | subject)", "poisson", "log", "epil.csv")

m <- glmer(TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION), gt, poisson)
case("grouseticks", m, "TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION)", "poisson", "log",
     "grouseticks.csv")

m <- glmer(r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item), va, binomial)
case("verbagg", m, "r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item)", "binomial", "logit", "verbagg.csv")

# negative binomial (NB2) with glmmTMB: the loglik, estimates, SEs and theta (sigma())
t0 <- glmmTMB(y ~ lbase * trt + lage + V4 + (1 | subject), ep, family = nbinom2)
s <- summary(t0)$coefficients$cond
sdv <- attr(VarCorr(t0)$cond$subject, "stddev")
write(toJSON(list(name = "epil_nb", data = "epil.csv", formula = "y ~ lbase * trt + lage + V4 + (1 | subject)",
                  family = "negative_binomial", link = "log", nagq = 1, loglik = as.numeric(logLik(t0)),
                  aic = AIC(t0), bic = BIC(t0), nobs = nobs(t0),
                  fixed = lapply(seq_len(nrow(s)), function(i) list(term = rownames(s)[i], estimate = s[i, 1],
                                 std_error = s[i, 2], z_value = s[i, 3], p_value = s[i, 4])),
                  varcorr = list(list(group = "subject", var1 = "(Intercept)", var2 = NULL, vcov = unname(sdv^2),
                                      sdcor = unname(sdv))),
                  dispersion = sigma(t0), versions = versions),
           auto_unbox = TRUE, digits = NA, null = "null", na = "null"), "epil_nb.json")
cat("done\n")
