"""Reference: identifiers point at objects of the same compiled release."""
