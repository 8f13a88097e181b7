"""DevOps Guru errors, named like the error shapes of botocore's ``devops-guru`` model."""
from __future__ import annotations

from moto.core.exceptions import ServiceException


class ValidationException(ServiceException):
    code = "ValidationException"

    def __init__(self, message: str, fields: list[dict[str, str]] | None = None, reason: str = "FIELD_VALIDATION_FAILED"):
        super().__init__(message)
        self.Reason = reason
        if fields:
            self.Fields = fields


class ResourceNotFoundException(ServiceException):
    code = "ResourceNotFoundException"

    def __init__(self, message: str, resource_id: str, resource_type: str):
        super().__init__(message)
        self.ResourceId = resource_id
        self.ResourceType = resource_type


class ConflictException(ServiceException):
    code = "ConflictException"

    def __init__(self, message: str, resource_id: str, resource_type: str):
        super().__init__(message)
        self.ResourceId = resource_id
        self.ResourceType = resource_type
