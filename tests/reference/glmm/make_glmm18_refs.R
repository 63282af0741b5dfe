# Reference numbers for issue 18 (GLMM summaries): Nakagawa R2 / ICC of count models, likelihood-ratio
# tests of fixed terms (drop1), Tukey-adjusted ratios on the response scale, response-scale trajectories.
# Run from this folder (after make_glmm_refs.R, which writes the CSV files):  Rscript make_glmm18_refs.R
# Writes glmm18.json with R's numbers and the R / package versions.
suppressPackageStartupMessages({
  library(lme4); library(glmmTMB); library(emmeans); library(performance); library(insight); library(jsonlite)
})
versions <- list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
                 glmmTMB = as.character(packageVersion("glmmTMB")), emmeans = as.character(packageVersion("emmeans")),
                 performance = as.character(packageVersion("performance")),
                 insight = as.character(packageVersion("insight")))
ep <- read.csv("epil.csv")
ba <- read.csv("bacteria.csv"); ba$y <- factor(ba$y); ba$trt <- factor(ba$trt, levels = c("placebo", "drug", "drug+"))
cb <- read.csv("cbpp.csv"); cb$period <- factor(cb$period)
gt <- read.csv("grouseticks.csv"); gt$YEAR <- factor(gt$YEAR)
rows <- function(d) lapply(seq_len(nrow(d)), function(i) as.list(d[i, , drop = FALSE]))
out <- list(versions = versions)

# ---- 1. Nakagawa R2 and ICC (performance::r2_nakagawa / icc, insight::get_variance) ------------------
# the null model's intercept and log-likelihood are stored too: glmer's null model of grouseticks stops
# short of its optimum (convergence warning), which moves var.distribution
r2case <- function(m, formula, family, data) {
  r <- suppressWarnings(r2_nakagawa(m)); i <- suppressWarnings(icc(m)); v <- suppressWarnings(get_variance(m))
  m0 <- suppressWarnings(null_model(m)); b0 <- lme4::fixef(m0); if (is.list(b0)) b0 <- b0$cond
  list(formula = formula, family = family, data = data,
       null_intercept = unname(b0[1]), null_loglik = as.numeric(logLik(m0)),
       var_dispersion = if (is.null(v$var.dispersion)) 0 else v$var.dispersion,
       r2_marginal = unname(r$R2_marginal), r2_conditional = unname(r$R2_conditional),
       icc_adjusted = i$ICC_adjusted, icc_unadjusted = i$ICC_unadjusted,
       var_fixed = v$var.fixed, var_random = v$var.random, var_distribution = v$var.distribution)
}
out$r2 <- list(
  epil = r2case(glmer(y ~ lbase * trt + lage + V4 + (1 | subject), ep, poisson),
                "y ~ lbase * trt + lage + V4 + (1 | subject)", "poisson", "epil.csv"),
  epil_raw = r2case(glmer(y ~ trt + base + age + (1 | subject), ep, poisson),
                    "y ~ trt + base + age + (1 | subject)", "poisson", "epil.csv"),
  epil_offset = r2case(glmer(y ~ trt + lage + V4 + offset(log(base)) + (1 | subject), ep, poisson),
                       "y ~ trt + lage + V4 + offset(log(base)) + (1 | subject)", "poisson", "epil.csv"),
  epil_slope = r2case(glmer(y ~ lbase * trt + lage + period + (1 + period | subject), ep, poisson),
                      "y ~ lbase * trt + lage + period + (1 + period | subject)", "poisson", "epil.csv"),
  grouseticks = r2case(glmer(TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION), gt, poisson),
                       "TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION)", "poisson",
                       "grouseticks.csv"),
  epil_nb = r2case(glmmTMB(y ~ lbase * trt + lage + V4 + (1 | subject), ep, family = nbinom2),
                   "y ~ lbase * trt + lage + V4 + (1 | subject)", "negative_binomial", "epil.csv"),
  bacteria = r2case(glmer(y ~ trt + week2 + (1 | ID), ba, binomial),
                    "y ~ trt + week2 + (1 | ID)", "binomial", "bacteria.csv"),
  cbpp = c(r2case(glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cb, binomial),
                  "incidence ~ period + (1 | herd)", "binomial", "cbpp.csv"), list(trials = "size"))
)

# ---- 2. likelihood-ratio tests of fixed terms: drop1(test = "Chisq") ---------------------------------
d1 <- function(m, formula, family, data, extra = list()) {
  # lme4 names the columns npar / Pr(Chi), glmmTMB (stats' default method) Df / Pr(>Chi)
  d <- as.data.frame(drop1(m, test = "Chisq"))
  names(d)[1] <- "df"; names(d)[ncol(d)] <- "p"
  keep <- !is.na(d$p)
  c(list(formula = formula, family = family, data = data, loglik = as.numeric(logLik(m)),
         terms = I(rownames(d)[keep]), df = I(unname(d$df[keep])), aic = I(unname(d$AIC[keep])),
         statistic = I(unname(d$LRT[keep])), p_value = I(unname(d$p[keep]))), extra)
}
out$drop1 <- list(
  epil = d1(glmer(y ~ lbase * trt + lage + V4 + (1 | subject), ep, poisson),
            "y ~ lbase * trt + lage + V4 + (1 | subject)", "poisson", "epil.csv"),
  bacteria = d1(glmer(y ~ trt + week2 + (1 | ID), ba, binomial), "y ~ trt + week2 + (1 | ID)", "binomial",
                "bacteria.csv"),
  cbpp = d1(glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cb, binomial),
            "incidence ~ period + (1 | herd)", "binomial", "cbpp.csv", list(trials = "size")),
  epil_nb = d1(glmmTMB(y ~ lbase * trt + lage + V4 + (1 | subject), ep, family = nbinom2),
               "y ~ lbase * trt + lage + V4 + (1 | subject)", "negative_binomial", "epil.csv")
)

# ---- 3. ratios on the response scale with Tukey limits ------------------------------------------------
# glmer's vcov carries ~1 % error from its finite-difference Hessian; glmmTMB's is exact for the same
# Laplace likelihood, so both are stored (the tests use glmmTMB's for tight tolerances).
# emmeans gives glmmTMB fits the residual df (t limits) unless told df = Inf (glmer's asymptotic z)
ratios <- function(m, spec, df = NA) {
  em <- if (is.na(df)) emmeans(m, spec, type = "response") else emmeans(m, spec, type = "response", df = df)
  pw <- pairs(em, adjust = "tukey")
  list(emmeans = rows(as.data.frame(confint(em))), confint = rows(as.data.frame(confint(pw))),
       tests = rows(as.data.frame(summary(pw))))
}
fb <- y ~ trt + week2 + (1 | ID)
fg <- TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION)
fo <- y ~ trt + lage + V4 + offset(log(base)) + (1 | subject)
out$tukey <- list(
  # an offset enters the means at the offset of the covariate's mean, log(mean(base))
  epil_offset = list(formula = "y ~ trt + lage + V4 + offset(log(base)) + (1 | subject)", family = "poisson",
                     data = "epil.csv", spec = "trt", glmer = ratios(glmer(fo, ep, poisson), ~ trt),
                     glmmTMB = ratios(glmmTMB(fo, ep, family = poisson), ~ trt, df = Inf)),
  bacteria = list(formula = "y ~ trt + week2 + (1 | ID)", family = "binomial", data = "bacteria.csv", spec = "trt",
                  glmer = ratios(glmer(fb, ba, binomial), ~ trt),
                  glmmTMB = ratios(glmmTMB(fb, ba, family = binomial), ~ trt, df = Inf)),
  grouseticks = list(formula = "TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION)",
                     family = "poisson", data = "grouseticks.csv", spec = "YEAR",
                     glmer = ratios(glmer(fg, gt, poisson), ~ YEAR),
                     glmmTMB = ratios(glmmTMB(fg, gt, family = poisson), ~ YEAR, df = Inf))
)

# ---- 4. response-scale trajectories: emmeans(m, ~ arm | time, at = list(time = grid), type = "response") --
traj <- function(m, arm, time, grid, df = NA) {
  f <- as.formula(paste("~", arm, "|", time))
  at <- list(); at[[time]] <- grid
  em <- if (is.na(df)) emmeans(m, f, at = at, type = "response") else emmeans(m, f, at = at, type = "response", df = df)
  rows(as.data.frame(em))
}
fbw <- y ~ trt * week + (1 | ID)
fep <- y ~ trt * period + lbase + (1 | subject)
wgrid <- seq(0, 11, length.out = 12); pgrid <- seq(1, 4, by = 0.5)
out$trajectory <- list(
  bacteria = list(formula = "y ~ trt * week + (1 | ID)", family = "binomial", data = "bacteria.csv",
                  arm = "trt", time = "week", grid = wgrid,
                  glmer = traj(glmer(fbw, ba, binomial), "trt", "week", wgrid),
                  glmmTMB = traj(glmmTMB(fbw, ba, family = binomial), "trt", "week", wgrid, df = Inf)),
  epil = list(formula = "y ~ trt * period + lbase + (1 | subject)", family = "poisson", data = "epil.csv",
              arm = "trt", time = "period", grid = pgrid,
              glmer = traj(glmer(fep, ep, poisson), "trt", "period", pgrid),
              glmmTMB = traj(glmmTMB(fep, ep, family = poisson), "trt", "period", pgrid, df = Inf))
)
write(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "null"), "glmm18.json")
cat("done\n")
