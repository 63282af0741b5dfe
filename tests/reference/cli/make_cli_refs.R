# Produces sleepstudy_ri.json and orthodont_lm.json (run: Rscript make_cli_refs.R)
suppressPackageStartupMessages({library(lme4); library(lmerTest); library(pbkrtest); library(performance);
  library(lmtest); library(jsonlite)})
ss <- read.csv("sleepstudy.csv"); ss$Subject <- factor(ss$Subject)
m <- lmer(Reaction ~ Days + (1 | Subject), data = ss, REML = TRUE)
cs <- summary(m)$coefficients; kr <- summary(m, ddf = "Kenward-Roger")$coefficients
fe <- lapply(seq_len(nrow(cs)), function(i) list(term = rownames(cs)[i], estimate = cs[i, 1], std_error = cs[i, 2],
  df_satterthwaite = cs[i, 3], t_value = cs[i, 4], p_value_satterthwaite = cs[i, 5],
  std_error_kenward_roger = kr[i, 2], df_kenward_roger = kr[i, 3], p_value_kenward_roger = kr[i, 5]))
vc <- as.data.frame(VarCorr(m))
re <- ranef(m, condVar = TRUE)$Subject; pv <- attr(re, "postVar")
r2 <- r2_nakagawa(m); ic <- icc(m)
out <- list(method = "REML", nobs = nobs(m), loglik = as.numeric(logLik(m)), aic = AIC(m), bic = BIC(m),
  deviance = -2 * as.numeric(logLik(m)), singular = isSingular(m), fixed_effects = fe,
  variance_components = lapply(seq_len(nrow(vc)), function(i) list(group = vc$grp[i],
    var1 = if (is.na(vc$var1[i])) NULL else vc$var1[i], var2 = NULL, vcov = vc$vcov[i], sdcor = vc$sdcor[i])),
  blups = list(Subject = list(levels = rownames(re), "(Intercept)" = re[, 1], "se_(Intercept)" = sqrt(pv[1, 1, ]))),
  r2_marginal = r2$R2_marginal, r2_conditional = r2$R2_conditional, icc_adjusted = ic$ICC_adjusted)
write_json(out, "sleepstudy_ri.json", auto_unbox = TRUE, digits = NA, null = "null")
o <- read.csv("orthodont_long.csv"); o$Sex <- relevel(factor(o$Sex), "Male")
l <- lm(distance ~ agen * Sex, data = o)
cat("orthodont_lm: see ../../../README for the public reference; coefficients:\n"); print(coef(l))
