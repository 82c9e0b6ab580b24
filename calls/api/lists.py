"""The do-not-call list (add, check, remove) and contact imports (upload a file, follow its
progress, fetch its report), through the same services as the dashboard."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, generics, parsers, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from calls.api.calls import CursorPage
from campaigns.imports import service as contact_import
from campaigns.imports.forms import UploadForm
from campaigns.imports.reading import ImportFileError
from campaigns.models import ContactImport, DoNotCall, ImportRejection
from campaigns.phones import to_e164
from campaigns.tasks import run_contact_import


def _phone(raw: str, country: str | None = None) -> str:
    try:
        return to_e164(raw, country or None)
    except DjangoValidationError as error:
        raise serializers.ValidationError({"phone": error.messages}) from None


class DoNotCallSerializer(serializers.ModelSerializer):
    country = serializers.CharField(
        max_length=2,
        required=False,
        write_only=True,
        help_text="For a number without a country code, e.g. US.",
    )
    phone = serializers.CharField(max_length=32)

    class Meta:
        model = DoNotCall
        fields = ["phone", "country", "reason", "source", "created_at"]
        read_only_fields = ["source", "created_at"]


class DoNotCallCheckSerializer(serializers.Serializer):
    phone = serializers.CharField()
    on_list = serializers.BooleanField()
    entry = DoNotCallSerializer(allow_null=True)


class DoNotCallList(generics.ListCreateAPIView):
    """GET: the list, newest first. POST: add a number (201; 200 if it was already there)."""

    serializer_class = DoNotCallSerializer
    pagination_class = CursorPage
    queryset = DoNotCall.objects.all()

    def create(self, request, *args, **kwargs):
        given = self.get_serializer(data=request.data)
        given.is_valid(raise_exception=True)
        phone = _phone(given.validated_data["phone"], given.validated_data.get("country"))
        added = DoNotCall.objects.add([phone], given.validated_data.get("reason", ""), source="api")
        entry = DoNotCall.objects.of(phone).get()
        return Response(
            self.get_serializer(entry).data, status=status.HTTP_201_CREATED if added else status.HTTP_200_OK
        )


class DoNotCallEntry(APIView):
    @extend_schema(responses=DoNotCallCheckSerializer)
    def get(self, request, phone: str):
        """Is this number on the list? (200 either way.)"""
        number = _phone(phone)
        entry = DoNotCall.objects.of(number).first()
        return Response(
            DoNotCallCheckSerializer({"phone": number, "on_list": entry is not None, "entry": entry}).data
        )

    @extend_schema(responses={204: None})
    def delete(self, request, phone: str):
        """Take the number off the list: its open leads may be called again."""
        if not DoNotCall.objects.remove([_phone(phone)]):
            raise exceptions.NotFound(f"{phone} is not on the do-not-call list.")
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Contact imports ----------------------------------------------------------------


class ImportSerializer(serializers.ModelSerializer):
    file_name = serializers.CharField(source="original_name")
    percent_done = serializers.SerializerMethodField()

    class Meta:
        model = ContactImport
        fields = [
            "id",
            "file_name",
            "campaign_id",
            "status",
            "error",
            "total_rows",
            "rows_done",
            "percent_done",
            *ContactImport.BUCKETS,
            "mapping",
            "default_country",
            "existing",
            "duplicates",
            "created_at",
            "started_at",
            "finished_at",
        ]

    def get_percent_done(self, contact_import) -> int | None:
        if not contact_import.total_rows:
            return 100 if contact_import.is_finished else None
        return round(100 * contact_import.rows_done / contact_import.total_rows)


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A CSV file (any common encoding and delimiter).")
    campaign = serializers.IntegerField(
        required=False, allow_null=True, help_text="Its contacts become this campaign's leads."
    )
    mapping = serializers.JSONField(
        required=False,
        help_text='Column index per field, e.g. {"phone": 0, '
        '"first_name": 1}; guessed from the header when left out.',
    )
    default_country = serializers.CharField(max_length=2, default="US")
    existing = serializers.ChoiceField(ContactImport.Existing.choices, default=ContactImport.Existing.UPDATE)
    duplicates = serializers.ChoiceField(
        ContactImport.Duplicates.choices, default=ContactImport.Duplicates.FIRST
    )


class ImportList(generics.ListCreateAPIView):
    """GET: recent imports. POST (multipart): upload a file; it is imported in the background."""

    serializer_class = ImportSerializer
    pagination_class = CursorPage
    queryset = ContactImport.objects.all()
    parser_classes = [parsers.MultiPartParser]

    @extend_schema(request={"multipart/form-data": UploadSerializer}, responses={201: ImportSerializer})
    def post(self, request):
        given = UploadSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        form = UploadForm({"campaign": data.get("campaign")}, {"file": data["file"]})
        if not form.is_valid():
            raise serializers.ValidationError({name: list(errors) for name, errors in form.errors.items()})
        try:
            created = contact_import.create_import(form.cleaned_data["file"], form.cleaned_data["campaign"])
            contact_import.confirm(
                created,
                data.get("mapping") or created.mapping,
                default_country=data["default_country"].upper(),
                existing=data["existing"],
                duplicates=data["duplicates"],
            )
        except ImportFileError as error:
            raise serializers.ValidationError({"file": [str(error)]}) from None
        run_contact_import.delay_on_commit(created.pk)
        return Response(ImportSerializer(created).data, status=status.HTTP_201_CREATED)


class ImportDetail(generics.RetrieveAPIView):
    serializer_class = ImportSerializer
    queryset = ContactImport.objects.all()
    lookup_url_kwarg = "import_id"


class RejectionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ImportRejection
        fields = ["line", "reason", "values"]


class ImportReport(generics.ListAPIView):
    """The rows that were not imported and why, in file order (as the dashboard's CSV)."""

    serializer_class = RejectionSerializer
    pagination_class = type("RejectionPage", (CursorPage,), {"ordering": "id"})

    def get_queryset(self):
        return get_object_or_404(ContactImport, pk=self.kwargs["import_id"]).rejections.all()
