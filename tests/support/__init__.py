"""Real parts for tests and benchmarks: OpenSSH servers, namespaces, the CLI as a subprocess."""
