"""The OCDS domain (after Pelican): loading compiled releases and the OCDS checks."""
