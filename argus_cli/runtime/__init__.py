"""What one `argus cycle` run needs around its ten steps: the log, signals and timeout, records."""
