# Reference numbers for the likelihood-ratio tests of fixed terms of GLMMs ("fixed_effect_tests" of the
# results), beyond those of make_glmm18_refs.R (cbpp, bacteria, epil, epil NB2): a Poisson model with an
# offset, a binomial model whose interaction hides its main effects (marginality) and an NB2 model with
# a factor interaction (glmmTMB's drop1, the stats default method), and a model without intercept.
# Run from this folder (after make_glmm_refs.R, which writes the CSV files):  Rscript make_glmm_drop1_refs.R
# Writes glmm_drop1.json with R's numbers and the R / package versions.
suppressPackageStartupMessages({ library(lme4); library(glmmTMB); library(jsonlite) })
versions <- list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
                 glmmTMB = as.character(packageVersion("glmmTMB")))
ep <- read.csv("epil.csv")
ba <- read.csv("bacteria.csv"); ba$y <- factor(ba$y); ba$trt <- factor(ba$trt, levels = c("placebo", "drug", "drug+"))
d1 <- function(m, formula, family, data, extra = list()) {
  # lme4 names the columns npar / Pr(Chi), glmmTMB (stats' default method) Df / Pr(>Chi)
  d <- as.data.frame(drop1(m, test = "Chisq"))
  names(d)[1] <- "df"; names(d)[ncol(d)] <- "p"
  keep <- !is.na(d$p)
  c(list(formula = formula, family = family, data = data, loglik = as.numeric(logLik(m)),
         terms = I(rownames(d)[keep]), df = I(unname(d$df[keep])), aic = I(unname(d$AIC[keep])),
         statistic = I(unname(d$LRT[keep])), p_value = I(unname(d$p[keep]))), extra)
}
fo <- y ~ trt + lage + V4 + offset(log(base)) + (1 | subject)
fb <- y ~ trt * week2 + (1 | ID)
fn <- y ~ trt * V4 + lbase + (1 | subject)
f0 <- y ~ 0 + trt + (1 | ID)  # no intercept: drop1 refits y ~ (1 | ID), with an intercept
out <- list(
  versions = versions,
  epil_offset = d1(glmer(fo, ep, poisson), "y ~ trt + lage + V4 + offset(log(base)) + (1 | subject)", "poisson",
                   "epil.csv"),
  bacteria_interaction = d1(glmer(fb, ba, binomial), "y ~ trt * week2 + (1 | ID)", "binomial", "bacteria.csv"),
  epil_nb_interaction = d1(glmmTMB(fn, ep, family = nbinom2), "y ~ trt * V4 + lbase + (1 | subject)",
                           "negative_binomial", "epil.csv"),
  bacteria_no_intercept = d1(glmer(f0, ba, binomial), "y ~ 0 + trt + (1 | ID)", "binomial", "bacteria.csv")
)
write(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "null"), "glmm_drop1.json")
cat("done\n")
