# An R analyst's script against a Socrata portal, pointed at CivicStat: the calls RSocrata's
# read.socrata() makes (httr GET, JSON or CSV by content type, paging by $limit/$offset ordered
# by :id, column types from X-SODA2-Types, floating timestamps) and the ones people write by hand
# (read.csv of a .csv URL, jsonlite::fromJSON of a .json URL).
# Usage: Rscript read_soda.R BASE_URL DATASET_ID ; prints one JSON object of what it read.
suppressPackageStartupMessages({
  library(httr)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
base <- args[[1]]
dataset <- args[[2]]
resource <- function(format) paste0(base, "/resource/", dataset, ".", format)

got <- list()

# 1. A SoQL query read as JSON, the way read.socrata() does.
answer <- GET(resource("json"), query = list(
  "$select" = "case_id, request_type, requested_datetime",
  "$where" = "status_group = 'open'",
  "$order" = "case_id"
), add_headers("X-App-Token" = "an-r-users-token"))
stop_for_status(answer)
got$json_content_type <- headers(answer)[["content-type"]]
rows <- fromJSON(content(answer, as = "text", encoding = "UTF-8"))
got$open_ids <- rows$case_id
types <- fromJSON(headers(answer)[["x-soda2-types"]])
fields <- fromJSON(headers(answer)[["x-soda2-fields"]])
names(types) <- fields
got$types <- as.list(types)
# RSocrata's posixify(): floating timestamps, no zone.
when <- as.POSIXct(rows$requested_datetime, format = "%Y-%m-%dT%H:%M:%OS", tz = "UTC")
got$first_requested <- format(when[[1]], "%Y-%m-%d %H:%M")

# 2. Paging through the whole dataset, 2 rows a page, ordered by :id as RSocrata does.
page <- 0
ids <- character(0)
repeat {
  answer <- GET(resource("json"), query = list(
    "$select" = "case_id", "$order" = ":id", "$limit" = 2, "$offset" = page * 2
  ))
  stop_for_status(answer)
  chunk <- fromJSON(content(answer, as = "text", encoding = "UTF-8"))
  if (length(chunk) == 0) break
  ids <- c(ids, chunk$case_id)
  page <- page + 1
}
got$all_ids <- ids

# 3. The hand-written way: read.csv of a .csv URL with a grouped count.
counted <- read.csv(paste0(
  resource("csv"),
  "?$select=department,count(*)%20AS%20n&$group=department&$order=department"
), stringsAsFactors = FALSE)
got$csv_columns <- names(counted)
got$csv_counts <- setNames(as.list(counted$n), counted$department)

# 4. A bad query: Socrata's error document, which R scripts print.
answer <- GET(resource("json"), query = list("$where" = "colour = 'red'"))
got$error_status <- status_code(answer)
got$error_message <- fromJSON(content(answer, as = "text", encoding = "UTF-8"))$message

cat(toJSON(got, auto_unbox = TRUE))
