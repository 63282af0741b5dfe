# Records what made a folder's reference numbers: write_versions() writes VERSIONS.txt beside the
# script that calls it (R's version, the platform, BLAS/LAPACK, and each package's version).
# Every make_*.R in tests/reference sources this file and calls it after writing its references.
write_versions <- function(script, pkgs, dir = ".") {
  pkgs <- unique(c("jsonlite", pkgs))
  v <- vapply(pkgs, function(p) as.character(utils::packageVersion(p)), "")
  sw <- extSoftVersion()
  lines <- c(paste("# written by", script, "(the numbers in this folder were computed with these versions)"),
             R.version.string,
             paste("platform", R.version$platform),
             paste("BLAS", sw[["BLAS"]]),
             paste("LAPACK", La_version()),
             paste(pkgs, v))
  writeLines(lines, file.path(dir, "VERSIONS.txt"))
  invisible(lines)
}
