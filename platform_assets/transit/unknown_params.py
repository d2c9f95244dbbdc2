"""What the catalog does with a preprocess param it does not know, named apart from the catalog's
models so that the setting choosing it (PLATFORM_TRANSIT_UNKNOWN_PREPROCESS_PARAMS) loads without them."""

# 'refuse' (an error naming the param) or 'ignore' (dropped, as Tartare's processes do: they read
# their params with dict.get).
UNKNOWN_PARAM_MODES = ("refuse", "ignore")
