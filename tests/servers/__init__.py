"""Real servers the tests start: PostgreSQL, sshd, S3 (each on a free loopback port in a temp dir)."""
