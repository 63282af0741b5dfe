# Reference numbers for mixgui/engine/ols.py (tests/engine/test_ols.py).
# Run from this folder:  Rscript make_ols_refs.R   -> writes ols_refs.json
# Needs car, lmtest, lme4, jsonlite. Every number the tests compare beyond orthodont_lm.json comes from here.
suppressPackageStartupMessages({library(car); library(lmtest); library(jsonlite)})

d <- read.csv("orthodont_long.csv", stringsAsFactors = FALSE)
d$agef <- factor(d$agef, levels = c("8", "10", "12", "14"))
d$Sex <- relevel(factor(d$Sex), ref = "Male")
# An unbalanced subset (every 7th row dropped) so type II and the two type III flavours differ.
du <- d[seq_len(nrow(d)) %% 7 != 0, ]
write.csv(du[, c("distance", "age", "Subject", "Sex", "occ", "agef", "agen")],
          "orthodont_unbalanced.csv", row.names = FALSE)

coefs <- function(m) {
  s <- coef(summary(m)); ci <- confint(m)
  lapply(seq_len(nrow(s)), function(i) list(term = rownames(s)[i], estimate = s[i, 1], std_error = s[i, 2],
       t_value = s[i, 3], p_value = s[i, 4], ci_lower = ci[i, 1], ci_upper = ci[i, 2]))
}
glance <- function(m) {
  s <- summary(m); ll <- logLik(m)
  f <- s$fstatistic
  list(r_squared = s$r.squared, adj_r_squared = s$adj.r.squared, sigma = s$sigma,
       statistic = if (is.null(f)) NA else unname(f["value"]),
       p_value = if (is.null(f)) NA else unname(pf(f["value"], f["numdf"], f["dendf"], lower.tail = FALSE)),
       df = if (is.null(f)) 0 else unname(f["numdf"]),
       loglik = as.numeric(ll), aic = AIC(m), bic = BIC(m), deviance = deviance(m),
       df_residual = df.residual(m), nobs = nobs(m))
}
atab <- function(a) {
  # car::Anova / anova tables as rows {term, df, sum_sq, f, p}
  a <- as.data.frame(a)
  lapply(seq_len(nrow(a)), function(i) list(term = trimws(rownames(a)[i]), df = a[i, "Df"],
       sum_sq = a[i, "Sum Sq"], f = a[i, "F value"], p = a[i, "Pr(>F)"]))
}
diag_ <- function(m) {
  sw <- shapiro.test(residuals(m))
  bp <- bptest(m)
  list(durbin_watson = unname(dwtest(m)$statistic), breusch_pagan = unname(bp$statistic),
       breusch_pagan_df = unname(bp$parameter), breusch_pagan_p = bp$p.value,
       shapiro_wilk = unname(sw$statistic), shapiro_wilk_p = sw$p.value)
}
anovas <- function(formula, data) {
  m <- lm(formula, data = data)
  # SAS / SPSS type III: the same model with sum-to-zero contrasts for every factor
  old <- options(contrasts = c("contr.sum", "contr.poly"))
  ms <- lm(formula, data = data)
  options(old)
  list(formula = deparse(formula), coefficients = coefs(m), glance = glance(m), anova_type1 = atab(anova(m)),
       anova_type2 = atab(Anova(m, type = 2)), anova_type3 = atab(Anova(m, type = 3)),
       anova_type3_sas = atab(Anova(ms, type = 3)), diagnostics = diag_(m))
}

out <- list()
out$agen_sex <- anovas(distance ~ agen * Sex, d)
out$agef_sex <- anovas(distance ~ agef * Sex, d)
out$agen_sex_unbal <- anovas(distance ~ agen * Sex, du)
out$agef_sex_unbal <- anovas(distance ~ agef * Sex, du)

# Per-row quantities for distance ~ agen * Sex on the unbalanced subset
m <- lm(distance ~ agen * Sex, data = du)
rs <- rstandard(m)
qq <- qqnorm(rs, plot.it = FALSE)
yq <- quantile(rs, c(0.25, 0.75)); xq <- qnorm(c(0.25, 0.75))
slope <- diff(yq) / diff(xq)
out$rows_agen_sex_unbal <- list(fitted = unname(fitted(m)), residuals = unname(residuals(m)),
  rstandard = unname(rs), rstudent = unname(rstudent(m)), hatvalues = unname(hatvalues(m)),
  cooks = unname(cooks.distance(m)), qq_theoretical = unname(qq$x),
  qqline_intercept = unname(yq[1] - slope * xq[1]), qqline_slope = unname(slope),
  lowess_resid_fitted = lowess(fitted(m), residuals(m))$y)

# A factor with a chosen reference level: age 12 as reference, Sex with its default (Female)
dr <- d; dr$agef <- relevel(dr$agef, ref = "12"); dr$Sex <- factor(as.character(dr$Sex))
out$agef12_plus_sex <- anovas(distance ~ agef + Sex, dr)

# Models without an intercept (uncentred R2, F against the zero model) and the intercept-only model
m0 <- lm(distance ~ 0 + agen + Sex, data = d)
out$noint_agen_sex <- list(coefficients = coefs(m0), glance = glance(m0), anova_type1 = atab(anova(m0)),
                           diagnostics = diag_(m0))
m0b <- lm(distance ~ 0 + agen, data = d)
out$noint_agen <- list(coefficients = coefs(m0b), glance = glance(m0b), anova_type1 = atab(anova(m0b)))
m1 <- lm(distance ~ 1, data = d)
out$intercept_only <- list(coefficients = coefs(m1), glance = glance(m1))

# Pooling comparison (mixgui/engine/pooling.py): Subject as a fixed factor vs as a random intercept
suppressPackageStartupMessages(library(lme4))
ss <- read.csv("sleepstudy.csv"); ss$Subject <- factor(ss$Subject)
mf <- lm(Reaction ~ Days + Subject, data = ss)
mm <- lmer(Reaction ~ Days + (1 | Subject), data = ss, REML = TRUE)
b <- coef(mf)
out$pooling_sleepstudy <- list(levels = levels(ss$Subject),
  no_pooling = unname(b["(Intercept)"] + c(0, b[grep("^Subject", names(b))])),
  raw_mean = unname(tapply(ss$Reaction, ss$Subject, mean)),
  fixed_intercept = unname(fixef(mm)["(Intercept)"]),
  blups = unname(ranef(mm)$Subject[, "(Intercept)"]),
  partial_pooling = unname(coef(mm)$Subject[, "(Intercept)"]),
  vc = as.data.frame(VarCorr(mm))$vcov)

out$R_version <- R.version.string
out$car_version <- as.character(packageVersion("car"))
out$lmtest_version <- as.character(packageVersion("lmtest"))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", null = "null", pretty = TRUE), "ols_refs.json")

# orthodont_lm.json: the public ordinary-regression case in the shape of the results file
# (coefficients, type I ANOVA, glance, Durbin-Watson, Breusch-Pagan, Shapiro-Wilk)
SPEC_DIR <- tempdir(); REF_DIR <- "."; DATA_DIR <- "."
source("../contract_refs.R")
lm_case("orthodont_lm", "orthodont_long.csv", "distance ~ agen * Sex", refs = list(Sex = "Male"))
source("../versions.R")
write_versions("make_ols_refs.R", c("car", "lmtest", "lme4"))
