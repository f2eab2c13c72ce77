"""Errors as the API server reports them: `Status` objects (kind Status, apiVersion v1, status Failure)."""

from __future__ import annotations

from typing import Any

REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    500: "InternalError",
}


def status_object(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if not reason:  # an error the API server has no reason for (it answers 500 and says none)
        del body["reason"]
    if details is not None:
        body["details"] = details
    return body


class ApiError(Exception):
    """Raised by handlers; the server turns it into an HTTP response carrying a Status body."""

    def __init__(self, code: int, message: str, reason: str | None = None, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.code = code
        self.reason = REASONS.get(code, "Unknown") if reason is None else reason
        self.message = message
        self.details = details

    def status(self) -> dict[str, Any]:
        return status_object(self.code, self.reason, self.message, self.details)


def qualified(resource: str, group: str) -> str:
    """`deployments.apps`, or `pods` for the core group, as messages name a resource."""
    return f"{resource}.{group}" if group else resource


def _details(name: str, group: str, resource: str) -> dict[str, Any]:
    details: dict[str, Any] = {"kind": resource}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    return details


def not_found(group: str, resource: str, name: str) -> ApiError:
    return ApiError(
        404, f'{qualified(resource, group)} "{name}" not found', "NotFound", _details(name, group, resource)
    )


def already_exists(group: str, resource: str, name: str) -> ApiError:
    msg = f'{qualified(resource, group)} "{name}" already exists'
    return ApiError(409, msg, "AlreadyExists", _details(name, group, resource))


def precondition_failed(kind: str, group: str, field: str, wanted: str, stored: str, name: str) -> ApiError:
    """409 for DeleteOptions.preconditions, in kube-apiserver's words (it names the Kind, not the resource)."""
    qkind = f"{kind}.{group}" if group else kind
    what = "ResourceVersion" if field == "resourceVersion" else "UID"
    msg = (
        f'Operation cannot be fulfilled on {qkind} "{name}": the {what} in the precondition ({wanted}) does not '
        f"match the {what} in record ({stored}). The object might have been modified"
    )
    details: dict[str, Any] = {"name": name, "kind": kind}
    if group:
        details["group"] = group
    return ApiError(409, msg, "Conflict", details)


def conflict(group: str, resource: str, name: str) -> ApiError:
    msg = (
        f'Operation cannot be fulfilled on {qualified(resource, group)} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    return ApiError(409, msg, "Conflict", _details(name, group, resource))


def invalid(kind: str, group: str, name: str, causes: list[tuple[str, str]]) -> ApiError:
    """422 Invalid: `Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: must be ...`.

    `causes` are (field, text) pairs where text is e.g. `Invalid value: -1: must be greater than or equal to 0`.
    """
    qkind = f"{kind}.{group}" if group else kind
    parts = [f"{field}: {text}" for field, text in causes]
    joined = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    details: dict[str, Any] = {"name": name, "kind": kind, "causes": []}
    if group:
        details["group"] = group
    for field, text in causes:
        reason = "FieldValueRequired" if text.startswith("Required value") else "FieldValueInvalid"
        details["causes"].append({"reason": reason, "message": text, "field": field})
    return ApiError(422, f'{qkind} "{name}" is invalid: {joined}', "Invalid", details)


def forbidden(user: str, verb: str, group: str, resource: str, subresource: str, name: str, namespace: str) -> ApiError:
    """403 in the authorizer's words, e.g.

    `deployments.apps "web" is forbidden: User "viewer" cannot patch resource "deployments" in API group "apps"
    in the namespace "default"`.
    """
    res = f"{resource}/{subresource}" if subresource else resource
    target = f'{qualified(resource, group)} "{name}"' if name else qualified(resource, group)
    where = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    msg = f'{target} is forbidden: User "{user}" cannot {verb} resource "{res}" in API group "{group}" {where}'
    return ApiError(403, msg, "Forbidden", _details(name, group, resource))


def reasonless(message: str) -> ApiError:
    """What kube-apiserver answers, as 500 with no `reason`, to a few malformed requests (a
    resourceVersion on a create, a resourceVersion that is not a number)."""
    return ApiError(500, message, "")


def expired(message: str) -> ApiError:
    return ApiError(410, message, "Expired")


def bad_request(message: str) -> ApiError:
    return ApiError(400, message, "BadRequest")


def unsupported_media_type(accepted: list[str], known: bool = True) -> ApiError:
    """415. A patch type the resource does not take (strategic merge on a custom resource) names the
    accepted ones; a content type that is no patch type at all gets the bare HTTP sentence."""
    if not known:
        return ApiError(415, "415: Unsupported Media Type", "UnsupportedMediaType", {})
    msg = "the body of the request was in an unknown format - accepted media types include: " + ", ".join(accepted)
    return ApiError(415, msg, "UnsupportedMediaType")


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")
