# Reference numbers for tests/engine/test_inference.py (MixGUI's inference layer).
#
# Run from this folder:  Rscript make_inference_refs.R   -> inference_refs.json
# Made with R 4.2.2, lme4 1.1-31, lmerTest 3.1-3, pbkrtest 0.5.2, performance 0.10.2 (Debian 12).
#
# What it records, beyond the shared public cases (copied in public/):
#   cases:       unbalanced / singular models with Satterthwaite and Kenward-Roger coefficient tables,
#                type III anova (and lmerTest's hypothesis matrices), joint contrasts, R2 and ICC
#   f2:          Cohen's local f2 from marginal R2 of full and reduced models
#   variances:   insight::get_variance parts and r2_nakagawa(by_group = TRUE)
#   comparisons: anova(m0, m1) (lme4 refits REML fits with ML)
#   lrt:         ML likelihood-ratio statistics of random slopes / terms
suppressPackageStartupMessages({
  library(lme4); library(lmerTest); library(pbkrtest); library(performance); library(jsonlite)
})

rows_of <- function(M) lapply(seq_len(nrow(M)), function(i) unname(as.numeric(M[i, ])))
num <- function(x) if (is.null(x) || length(x) == 0 || all(is.na(x))) NA else unname(as.numeric(x))
safe <- function(expr) tryCatch(expr, error = function(e) NULL)

read_case <- function(path, drop = integer(0), factors = character(0), ref = list()) {
  d <- read.csv(path)
  if (length(drop)) d <- d[-drop, ]
  for (f in factors) d[[f]] <- factor(d[[f]], levels = sort(unique(d[[f]])))
  for (v in names(ref)) {
    if (!is.factor(d[[v]])) d[[v]] <- factor(d[[v]])
    d[[v]] <- relevel(d[[v]], ref = ref[[v]])
  }
  d
}

coef_table <- function(m) {
  s <- summary(m, ddf = "Satterthwaite")$coefficients
  k <- safe(summary(m, ddf = "Kenward-Roger")$coefficients)
  lapply(seq_len(nrow(s)), function(i) list(
    term = rownames(s)[i], estimate = s[i, "Estimate"], std_error = s[i, "Std. Error"],
    df_satterthwaite = s[i, "df"], t_value = s[i, "t value"], p_value_satterthwaite = s[i, "Pr(>|t|)"],
    std_error_kenward_roger = if (is.null(k)) NA else k[i, "Std. Error"],
    df_kenward_roger = if (is.null(k)) NA else k[i, "df"],
    p_value_kenward_roger = if (is.null(k)) NA else k[i, "Pr(>|t|)"]))
}

anova_table <- function(m) {
  a <- anova(m, type = 3, ddf = "Satterthwaite")
  k <- safe(anova(m, type = 3, ddf = "Kenward-Roger"))
  hyp <- attr(a, "hypotheses")
  lapply(seq_len(nrow(a)), function(i) list(
    term = rownames(a)[i], num_df = a[i, "NumDF"],
    den_df_satterthwaite = a[i, "DenDF"], f_satterthwaite = a[i, "F value"], p_satterthwaite = a[i, "Pr(>F)"],
    den_df_kenward_roger = if (is.null(k)) NA else k[i, "DenDF"],
    f_kenward_roger = if (is.null(k)) NA else k[i, "F value"],
    p_kenward_roger = if (is.null(k)) NA else k[i, "Pr(>F)"],
    hypothesis = rows_of(hyp[[rownames(a)[i]]])))
}

r2_icc <- function(m) {
  r2 <- suppressWarnings(performance::r2_nakagawa(m))
  ic <- suppressWarnings(performance::icc(m))
  list(r2_marginal = num(r2$R2_marginal), r2_conditional = num(r2$R2_conditional),
       icc_adjusted = if (is.data.frame(ic)) ic$ICC_adjusted else NA,
       icc_unadjusted = if (is.data.frame(ic)) ic$ICC_unadjusted else NA)
}

run_case <- function(name, path, formula, drop = integer(0), factors = character(0), ref = list(),
                     contrasts = list(), REML = TRUE) {
  d <- read_case(path, drop, factors, ref)
  m <- lmer(as.formula(formula), data = d, REML = REML)
  con <- lapply(contrasts, function(L) {
    L <- matrix(unlist(L), nrow = length(L), byrow = TRUE)
    s <- contest(m, L, joint = TRUE, ddf = "Satterthwaite")
    k <- safe(contest(m, L, joint = TRUE, ddf = "Kenward-Roger"))
    list(L = rows_of(L), num_df = s$NumDF, f_satterthwaite = s[["F value"]], den_df_satterthwaite = s$DenDF,
         p_satterthwaite = s[["Pr(>F)"]],
         f_kenward_roger = if (is.null(k)) NA else k[["F value"]],
         den_df_kenward_roger = if (is.null(k)) NA else k$DenDF,
         p_kenward_roger = if (is.null(k)) NA else k[["Pr(>F)"]])
  })
  c(list(name = name, data = basename(path), formula = formula, method = if (REML) "REML" else "ML",
         drop_rows = as.list(drop), factors = as.list(factors), reference_levels = ref,
         nobs = nobs(m), theta = num(getME(m, "theta")), sigma = sigma(m),
         loglik = as.numeric(logLik(m)), singular = isSingular(m),
         fixed_effects = coef_table(m), anova = anova_table(m), contrasts = con),
    r2_icc(m))
}

drop_o <- c(3, 10, 17, 25, 40, 41, 58, 77, 90, 101)
cases <- list(
  run_case("orthodont_num_unbal", "orthodont.csv", "distance ~ age * Sex + (age | Subject)", drop_o,
           factors = "Subject", ref = list(Sex = "Male"),
           contrasts = list(list(c(0, 1, 0, 0), c(0, 0, 1, 0), c(0, 1, 1, 0)))),
  run_case("orthodont_fac_unbal", "orthodont.csv", "distance ~ age * Sex + (1 | Subject)", drop_o,
           factors = c("age", "Subject"), ref = list(Sex = "Male"),
           contrasts = list(list(c(0, 1, 0, 0, 0, 0, 0, 0), c(0, 0, 1, 0, 0, 0, 0, 0), c(0, 0, 0, 1, 0, 0, 0, 0)),
                            list(c(0, 0, 0, 0, 0, 1, 0, 0), c(0, 0, 0, 0, 0, 0, 1, 0), c(0, 0, 0, 0, 0, 1, 1, 0)))),
  run_case("orthodont_missing_cell", "orthodont.csv", "distance ~ age * Sex + (1 | Subject)",
           which(read.csv("orthodont.csv")$age == 14 & read.csv("orthodont.csv")$Sex == "Female"),
           factors = c("age", "Subject"), ref = list(Sex = "Male")),
  run_case("orthodont_onefactor_unbal", "orthodont.csv", "distance ~ age + (1 | Subject)", drop_o,
           factors = c("age", "Subject")),
  run_case("pastes_unbal", "pastes.csv", "strength ~ 1 + (1 | batch/cask)", c(1, 8, 15, 22, 29, 36, 45)),
  run_case("sleepstudy_rs_ml", "sleepstudy.csv", "Reaction ~ Days + (Days | Subject)", factors = "Subject",
           REML = FALSE),
  run_case("dyestuff2_singular", "dyestuff2.csv", "Yield ~ 1 + (1 | Batch)", factors = "Batch")
)

# -- Cohen's f2 (local, marginal R2 of full and reduced model, same method) --------------------
r2m <- function(m) num(suppressWarnings(performance::r2_nakagawa(m))$R2_marginal)
f2_rows <- function(full, reduced, term) {
  a <- r2m(full); b <- r2m(reduced)
  list(term = term, r2_full = a, r2_reduced = b, f2 = (a - b) / (1 - a))
}
ss <- read_case("sleepstudy.csv", factors = "Subject")
oc <- read_case("orthodont.csv", factors = c("age", "Subject"), ref = list(Sex = "Male"))
m_ss <- lmer(Reaction ~ Days + (Days | Subject), ss)
m_oc <- lmer(distance ~ age * Sex + (1 | Subject), oc)
f2 <- list(
  sleepstudy_rs = list(f2_rows(m_ss, lmer(Reaction ~ 1 + (Days | Subject), ss), "Days")),
  orthodont_cat = list(
    f2_rows(m_oc, lmer(distance ~ Sex + age:Sex + (1 | Subject), oc), "age"),
    f2_rows(m_oc, lmer(distance ~ age + age:Sex + (1 | Subject), oc), "Sex"),
    f2_rows(m_oc, lmer(distance ~ age + Sex + (1 | Subject), oc), "age:Sex")))

# -- variance parts and level-wise variance explained -----------------------------------------
parts <- function(m) {
  v <- suppressWarnings(insight::get_variance(m))
  list(var_fixed = num(v$var.fixed), var_random = num(v$var.random), var_residual = num(v$var.residual),
       var_intercept = as.list(v$var.intercept))
}
by_group <- function(m) {
  r <- suppressWarnings(performance::r2_nakagawa(m, by_group = TRUE))
  lapply(seq_len(nrow(r)), function(i) list(level = r$Level[i], r2 = r$R2[i]))
}
pa <- read_case("pastes.csv")
pe <- read_case("penicillin.csv")
variances <- list(
  sleepstudy_rs = parts(m_ss),
  sleepstudy_rs_uncorr = parts(lmer(Reaction ~ Days + (Days || Subject), ss)),
  orthodont_cat = c(parts(m_oc), list(by_group = by_group(m_oc))),
  sleepstudy_ri = c(parts(m_ri <- lmer(Reaction ~ Days + (1 | Subject), ss)), list(by_group = by_group(m_ri))),
  pastes_nested = parts(lmer(strength ~ 1 + (1 | batch/cask), pa)),
  penicillin_crossed = parts(lmer(diameter ~ 1 + (1 | plate) + (1 | sample), pe)))

# -- model comparison: anova(m0, m1), REML fits refitted with ML by lme4 -------------------------
cmp <- function(m0, m1, names) {
  a <- suppressMessages(anova(m0, m1, model.names = names))
  lapply(seq_len(nrow(a)), function(i) list(
    model = rownames(a)[i], npar = a$npar[i], aic = a$AIC[i], bic = a$BIC[i], loglik = a$logLik[i],
    deviance = a$deviance[i], chisq = a$Chisq[i], df = a$Df[i], p_value = a[["Pr(>Chisq)"]][i]))
}
m_ri_s <- lmer(Reaction ~ Days + (1 | Subject), ss)
m_rs_s <- lmer(Reaction ~ Days + (Days | Subject), ss)
m_rs0 <- lmer(Reaction ~ 1 + (Days | Subject), ss)
comparisons <- list(
  same_fixed = list(formulas = c(m_ri_s = "Reaction ~ Days + (1 | Subject)", m_rs_s = "Reaction ~ Days + (Days | Subject)"),
                    rows = cmp(m_ri_s, m_rs_s, c("m_ri_s", "m_rs_s"))),
  different_fixed = list(formulas = c(m_rs0 = "Reaction ~ 1 + (Days | Subject)", m_rs_s = "Reaction ~ Days + (Days | Subject)"),
                         rows = cmp(m_rs0, m_rs_s, c("m_rs0", "m_rs_s"))))

# -- random-effect LRTs by ML refits -------------------------------------------------------
ml <- function(f) as.numeric(logLik(lmer(f, ss, REML = FALSE)))
ll_lm <- as.numeric(logLik(lm(Reaction ~ Days, ss)))
ll_rs <- ml(Reaction ~ Days + (Days | Subject))
ll_ri <- ml(Reaction ~ Days + (1 | Subject))
ll_un <- ml(Reaction ~ Days + (Days || Subject))
ll_sl <- ml(Reaction ~ Days + (0 + Days | Subject))
lrt <- list(
  sleepstudy_rs = list(
    list(term = "Days in (Days | Subject)", statistic = 2 * (ll_rs - ll_ri), df = 2, loglik_full = ll_rs, loglik_reduced = ll_ri),
    list(term = "(Days | Subject)", statistic = 2 * (ll_rs - ll_lm), df = 3, loglik_full = ll_rs, loglik_reduced = ll_lm)),
  sleepstudy_rs_uncorr = list(
    list(term = "Days in (Days || Subject)", statistic = 2 * (ll_un - ll_ri), df = 1, loglik_full = ll_un, loglik_reduced = ll_ri),
    list(term = "(1 | Subject)", statistic = 2 * (ll_un - ll_sl), df = 1, loglik_full = ll_un, loglik_reduced = ll_sl)))

out <- list(versions = list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
                            lmerTest = as.character(packageVersion("lmerTest")),
                            pbkrtest = as.character(packageVersion("pbkrtest")),
                            performance = as.character(packageVersion("performance")),
                            insight = as.character(packageVersion("insight"))),
            cases = cases, f2 = f2, variances = variances, comparisons = comparisons, lrt = lrt)
write_json(out, "inference_refs.json", auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE)
cat("wrote inference_refs.json\n")
source("../versions.R")
write_versions("make_inference_refs.R", c("lme4", "lmerTest", "pbkrtest", "performance", "insight"))
