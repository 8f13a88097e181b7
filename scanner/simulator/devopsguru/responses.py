"""DevOps Guru requests in, responses out: botocore's rest-json model parses and serialises."""
from __future__ import annotations

from moto.core.responses import ActionResult, BaseResponse, EmptyResult

from scanner.simulator.devopsguru.exceptions import ValidationException
from scanner.simulator.devopsguru.models import DevOpsGuruBackend, devopsguru_backends
from scanner.simulator.devopsguru.validation import summary_message, validation_errors


class DevOpsGuruResponse(BaseResponse):
    def __init__(self) -> None:
        super().__init__(service_name="devops-guru")
        self.automated_parameter_parsing = True

    @property
    def backend(self) -> DevOpsGuruBackend:
        return devopsguru_backends[self.current_account][self.region]

    def call_action(self):  # type: ignore[no-untyped-def]
        # Validate before any handler runs, as the service does: invalid enums and missing
        # required members never reach the business logic.
        try:
            self._validate()
        except ValidationException as error:
            status, headers, body = self.serialized(ActionResult(error))
            return status, headers, body
        return super().call_action()

    def _authenticate_and_authorize_normal_action(self, resource: str = "*") -> None:  # type: ignore[override]
        # moto fills the query parameters of a bodiless GET with the request headers; its signature
        # check then signs those as a payload and rejects every GET under IAM enforcement.
        from urllib.parse import parse_qs

        saved = self.data
        self.data = parse_qs(self.parsed_url.query, keep_blank_values=True)
        try:
            super()._authenticate_and_authorize_normal_action(resource)
        finally:
            self.data = saved

    def _validate(self) -> None:
        from moto.core.utils import get_service_model

        action = self._get_action()
        if not action:
            return
        operation = get_service_model(self.boto3_service_name).operation_model(action)
        params = getattr(self, "params", {}) or {}
        errors = validation_errors(operation.input_shape, dict(params))
        if errors:
            raise ValidationException(
                summary_message(errors), [{"Name": path, "Message": message} for path, message in errors]
            )

    def describe_service_integration(self) -> ActionResult:
        return ActionResult({"ServiceIntegration": self.backend.describe_service_integration()})

    def update_service_integration(self) -> ActionResult:
        self.backend.update_service_integration(self._get_param("ServiceIntegration"))
        return EmptyResult()

    def get_resource_collection(self) -> ActionResult:
        collection_type = self._get_param("ResourceCollectionType")
        return ActionResult({"ResourceCollection": self.backend.get_resource_collection(collection_type)})

    def update_resource_collection(self) -> ActionResult:
        self.backend.update_resource_collection(self._get_param("Action"), self._get_param("ResourceCollection"))
        return EmptyResult()

    def list_notification_channels(self) -> ActionResult:
        return ActionResult({"Channels": self.backend.list_notification_channels()})

    def add_notification_channel(self) -> ActionResult:
        return ActionResult({"Id": self.backend.add_notification_channel(self._get_param("Config"))})

    def remove_notification_channel(self) -> ActionResult:
        self.backend.remove_notification_channel(self._get_param("Id"))
        return EmptyResult()

    def describe_account_health(self) -> ActionResult:
        return ActionResult(self.backend.describe_account_health())
