"""The rates sandbox: the ECB's eurofxref-daily.xml with rates of our choosing and failures on demand."""
