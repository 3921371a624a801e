"""AWS checks: facts from scanner/collectors/aws turned into observations; no verdicts."""
