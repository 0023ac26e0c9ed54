"""Feed I/O: fetching (fetcher), parsing (parser), link normalisation (urls), poll timing (schedule), OPML."""
