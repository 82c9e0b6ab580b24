import calls.models
from django.db import migrations, models


def legacy_scopes():
    # Tokens made before scopes existed could read calls and place them: they keep that.
    return ["read", "calls"]


class Migration(migrations.Migration):

    dependencies = [
        ('calls', '0006_transcriptline_unheard'),
    ]

    operations = [
        migrations.AddField(
            model_name='apitoken',
            name='scopes',
            field=models.JSONField(default=legacy_scopes),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name='apitoken',
            name='scopes',
            field=models.JSONField(default=calls.models.default_scopes, help_text='What it may do: read, write, calls.'),
        ),
    ]
