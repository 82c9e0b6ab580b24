# Environment for test runs; sourced by scripts/test.sh (and by hand for a single pytest run:
# `source scripts/test-env.sh && .venv/bin/pytest tests/...`).
# Tests never read a developer's .env; every value they need is set here.
export READ_DOTENV=false
export DATABASE_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
export REDIS_URL=${TEST_REDIS_URL:-redis://127.0.0.1:6379/15}
export CELERY_QUEUE=${CELERY_QUEUE:-dialer-test-$$}
export STATUS_CALLBACK_STREAM=${STATUS_CALLBACK_STREAM:-twilio:status-callbacks:test-$$}
export SECRET_KEY=test-only-secret-key-not-for-production-use-0123456789
export DEBUG=false SECURE_SSL_REDIRECT=false SESSION_COOKIE_SECURE=false CSRF_COOKIE_SECURE=false
export TWILIO_ACCOUNT_SID=AC00000000000000000000000000000000
export TWILIO_AUTH_TOKEN=test-auth-token
export TWILIO_API_BASE_URL=http://127.0.0.1:9
export PUBLIC_BASE_URL=https://dialer.example.com
export ALLOWED_HOSTS=testserver,localhost,127.0.0.1,dialer.example.com
export LOG_FORMAT=text
