"""The fixed first `errors` entry for each status (§1 of the contract)."""

ERROR_TEXTS = {
    400: "Validation failed",
    401: "Authentication required",
    403: "Insufficient permissions",
    404: "Resource not found",
    405: "Method not allowed",
    409: "Resource already exists or cannot be changed in its current state",
    413: "Payload too large",
    415: "Unsupported media type",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


def error_text(status_code: int) -> str:
    return ERROR_TEXTS.get(status_code) or ERROR_TEXTS[500 if status_code >= 500 else 400]
