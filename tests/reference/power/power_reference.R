# Reference numbers for tests/engine/power: closed-form power of balanced two-arm designs as R's
# power.t.test (a two-sample t test on cluster means has df = J - 2, the mixed model's df) and the
# (strict = TRUE: both tails, as we count them) and the Wilson interval as prop.test(correct = FALSE).
# Run: Rscript power_reference.R > power_reference.json
library(jsonlite)
tau2 <- 0.05; sig2 <- 0.95; m <- 10
out <- list(
  r_version = R.version.string,
  cluster_randomized_J20_m10_icc05_d05 = power.t.test(n = 10, delta = 0.5, sd = sqrt(tau2 + sig2 / m), strict = TRUE)$power,
  cluster_randomized_J20_m10_icc05_d05_one_sided = power.t.test(n = 10, delta = 0.5, sd = sqrt(tau2 + sig2 / m),
                                                                alternative = "one.sided")$power,
  # within clusters, J = 10, m = 10 (5 per arm per cluster): se = sqrt(sig2 / (J * 5 * 5 / m)), df = J(m-1)-1
  within_J10_m10_icc05_d04 = {
    se <- sqrt(sig2 / (10 * 25 / 10)); df <- 10 * 9 - 1; ncp <- 0.4 / se; crit <- qt(0.975, df)
    pt(crit, df, ncp, lower.tail = FALSE) + pt(-crit, df, ncp)
  },
  wilson_774_1000 = as.numeric(prop.test(774, 1000, correct = FALSE)$conf.int),
  wilson_0_50 = as.numeric(prop.test(0, 50, correct = FALSE)$conf.int)
)
cat(toJSON(out, digits = 15, auto_unbox = TRUE, pretty = TRUE))
