from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from phonenumbers import SUPPORTED_REGIONS, country_code_for_region

from campaigns.imports.reading import FIELDS
from campaigns.models import Campaign, ContactImport


def _country_choices() -> list[tuple[str, str]]:
    # SUPPORTED_REGIONS leaves out the non-geographic "001" numbers.
    return [(r, f"{r} (+{country_code_for_region(r)})") for r in sorted(SUPPORTED_REGIONS)]


class UploadForm(forms.Form):
    file = forms.FileField(label="CSV file")
    campaign = forms.ModelChoiceField(
        Campaign.objects.all(),
        required=False,
        empty_label="No campaign: a standalone contact list",
        help_text="Contacts imported into a campaign become its leads.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.CONTACT_UPLOAD_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                f"The file is {filesizeformat(upload.size)}; the limit is {filesizeformat(limit)}. "
                "Split it into smaller files and upload them one by one."
            )
        return upload


class MappingForm(forms.Form):
    """Which column feeds which field, which to leave out, and the import options."""

    default_country = forms.ChoiceField(
        choices=_country_choices, help_text="For numbers written without a + and country code."
    )
    existing = forms.ChoiceField(
        label="Customers already in the database",
        choices=ContactImport.Existing.choices,
        widget=forms.RadioSelect,
    )
    duplicates = forms.ChoiceField(
        label="A number that appears more than once in the file",
        choices=ContactImport.Duplicates.choices,
        widget=forms.RadioSelect,
    )

    def __init__(self, header: list[str], *args, **kwargs):
        super().__init__(*args, **kwargs)
        columns = [(str(i), name) for i, name in enumerate(header)]
        for field, label in FIELDS.items():
            self.fields[field] = forms.TypedChoiceField(
                label=label,
                choices=[("", "— not in this file —"), *columns],
                coerce=int,
                empty_value=None,
                required=field == "phone",
            )
        self.fields["ignore"] = forms.TypedMultipleChoiceField(
            label="Leave out these columns",
            choices=columns,
            coerce=int,
            required=False,
            widget=forms.CheckboxSelectMultiple,
            help_text="Every other column is passed to the bot as a parameter.",
        )
        self.order_fields([*FIELDS, "ignore"])

    @classmethod
    def for_import(cls, contact_import: ContactImport, header: list[str], data=None):
        initial = {
            **{f: contact_import.mapping.get(f) for f in FIELDS},
            "ignore": contact_import.mapping.get("ignore", []),
            "default_country": contact_import.default_country,
            "existing": contact_import.existing,
            "duplicates": contact_import.duplicates,
        }
        return cls(header, data=data, initial=initial)

    def clean(self):
        data = super().clean()
        chosen = [data.get(f) for f in FIELDS if data.get(f) is not None]
        if len(chosen) != len(set(chosen)):
            raise forms.ValidationError("Each column can feed only one field.")
        return data

    @property
    def mapping(self) -> dict:
        mapping = {f: self.cleaned_data[f] for f in FIELDS if self.cleaned_data.get(f) is not None}
        mapping["ignore"] = sorted(set(self.cleaned_data["ignore"]) - set(mapping.values()))
        return mapping
