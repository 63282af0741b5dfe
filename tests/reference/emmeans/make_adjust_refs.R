# Reference numbers for mixgui/engine/emmeans/adjust.py (tests/engine/test_emmeans_adjust.py).
# Run from this folder:  Rscript make_adjust_refs.R   -> writes adjust_refs.json
# R's p.adjust (with a missing value and n = length(p), as emmeans calls it), emmeans' Dunnett
# approximation (.pdunnx, .qdunnx) and qtukey; versions are written into the JSON.
suppressMessages({library(emmeans); library(jsonlite)})
p <- c(0.01, 0.04, NA, 0.03, 0.2, 0.005)
out <- list(p = p)
for (m in c("holm", "BH", "hommel", "bonferroni")) out[[paste0("p_adjust_", m)]] <- p.adjust(p, m, n = length(p))
out$pdunnx <- list(x = c(1.5, 2.2, 2.9), k = 3, df = 25, value = emmeans:::.pdunnx(c(1.5, 2.2, 2.9), 3, 25))
out$qdunnx <- list(level = 0.95, k = 3, df = c(25, 8, 1e308), value = emmeans:::.qdunnx(0.95, 3, c(25, 8, Inf)))
out$qtukey <- list(level = 0.95, n_means = 4, df = 20, value = qtukey(0.95, 4, 20) / sqrt(2))
out$versions <- list(R = R.version.string, emmeans = as.character(packageVersion("emmeans")))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE), "adjust_refs.json")
cat("wrote adjust_refs.json\n")
