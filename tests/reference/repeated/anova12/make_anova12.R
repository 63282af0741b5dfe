# Type I and type II tests of mixed models, the references of tests/engine/inference/test_anova12.py.
# Run from this folder: Rscript make_anova12.R
#  - lmer (random effects only): lmerTest's anova(type = 1 / 2), Satterthwaite and Kenward-Roger;
#  - gls (residual structure): nlme's anova(type = "sequential") (F with N - p denominator df) and
#    car::Anova(type = 2) (Wald chi-square), both on the generalized-least-squares metric X'V^-1X.
# Data: Orthodont with 18 visits removed (unbalanced), age as a factor, Sex x age interaction.
suppressMessages({library(lme4); library(lmerTest); library(nlme); library(car); library(jsonlite)})
d <- read.csv("../orthodont_missing.csv")
d$Subject <- factor(d$Subject)
d$Sex <- factor(d$Sex, levels = c("Male", "Female"))
d$agef <- factor(d$agef)
rows <- function(a, type) lapply(seq_len(nrow(a)), function(i) list(
  term = rownames(a)[i], num_df = a$NumDF[i], den_df = a$DenDF[i], f_value = a[["F value"]][i],
  p_value = a[["Pr(>F)"]][i]))
m <- lmer(distance ~ Sex * agef + (1 | Subject), data = d, REML = TRUE)
lmer_out <- list(
  formula = "distance ~ Sex * agef + (1 | Subject)",
  type1_satterthwaite = rows(anova(m, type = 1), 1), type2_satterthwaite = rows(anova(m, type = 2), 2),
  type1_kenward_roger = rows(anova(m, type = 1, ddf = "Kenward-Roger"), 1),
  type2_kenward_roger = rows(anova(m, type = 2, ddf = "Kenward-Roger"), 2))
g <- gls(distance ~ Sex * agef, data = d,
         correlation = corCompSymm(form = ~ 1 | Subject), method = "REML")
seq_a <- anova(g, type = "sequential")
seq_rows <- lapply(2:nrow(seq_a), function(i) list(term = rownames(seq_a)[i], num_df = seq_a$numDF[i],
  den_df = nrow(d) - length(coef(g)), f_value = seq_a[["F-value"]][i], p_value = seq_a[["p-value"]][i]))
a2 <- Anova(g, type = 2)
t2_rows <- lapply(seq_len(nrow(a2)), function(i) list(term = rownames(a2)[i], num_df = a2$Df[i],
  chi_square = a2$Chisq[i]))
gls_out <- list(formula = "distance ~ Sex * agef", structure = "CS", type1 = seq_rows, type2_wald = t2_rows)
out <- list(versions = list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
                            lmerTest = as.character(packageVersion("lmerTest")),
                            pbkrtest = as.character(packageVersion("pbkrtest")),
                            nlme = as.character(packageVersion("nlme")), car = as.character(packageVersion("car"))),
            lmer = lmer_out, gls = gls_out)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "anova12.json")
