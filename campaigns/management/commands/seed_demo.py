"""Seed the offline demo: a "Summer sale" campaign on the natural voice stack and a handful
of fictional contacts whose numbers the Twilio emulator's default scenario answers in
different ways (see twilio_emulator/README.md); with --cloud, a second campaign with the
same contacts on the cloud voice stack. Run by `make run` when no real Twilio account is
configured; safe to run again: it never duplicates, and it moves the contacts to where it
is daytime now so the calling window is open whenever the demo is run. Prints the
campaigns' ids, one a line."""

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from campaigns.calling_window import zone_where_it_is
from campaigns.models import Campaign, Customer, Lead

DEMO_SLUG = "summer_sale"
CLOUD_DEMO_SLUG = "summer_sale_cloud"
DEMO_CALLER_ID = "+12025550100"
# Last two digits → the emulator's default callee.
DEMO_CONTACTS = [
    ("+12025550101", "Ann", "Lee", "gold"),  # interested
    ("+12025550102", "Bob", "Stone", "silver"),  # not interested
    ("+12025550103", "Cara", "Diaz", "gold"),  # asks for a callback
    ("+12025550104", "Dan", "Wu", "bronze"),  # busy
    ("+12025550105", "Eve", "Moss", "silver"),  # no answer
    ("+12025550106", "Finn", "Shah", "gold"),  # voicemail
    ("+12025550107", "Gus", "Park", "bronze"),  # asks not to be called again
]


class Command(BaseCommand):
    help = "Create the offline demo campaign and its contacts (once)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Say what would be created.")
        parser.add_argument("--cloud", action="store_true",
                            help="Also seed the campaign on the cloud voice stack.")

    def handle(self, *args, dry_run=False, cloud=False, **options):
        stacks = [(DEMO_SLUG, Campaign.VoiceStack.NATURAL)]
        if cloud:
            stacks.append((CLOUD_DEMO_SLUG, Campaign.VoiceStack.CLOUD))
        if dry_run:
            for slug, _stack in stacks:
                verb = "refresh" if Campaign.objects.filter(slug=slug).exists() else "create"
                self.stdout.write(f"Would {verb} the demo campaign {slug} and {len(DEMO_CONTACTS)} contacts.")
            return
        with transaction.atomic():
            campaigns = [Campaign.objects.filter(slug=slug).first() or self._create_campaign(slug, stack)
                         for slug, stack in stacks]
            zone = zone_where_it_is(13, timezone.now())
            for phone, first, last, plan in DEMO_CONTACTS:
                customer, _ = Customer.objects.update_or_create(
                    phone=phone,
                    defaults={"first_name": first, "last_name": last, "timezone": zone,
                              "attributes": {"demo": True}},
                )
                for campaign in campaigns:
                    Lead.objects.get_or_create(campaign=campaign, customer=customer,
                                               defaults={"parameters": {"plan": plan}})
        for campaign in campaigns:
            self.stdout.write(str(campaign.pk))

    def _create_campaign(self, slug: str, stack: str) -> Campaign:
        return Campaign.objects.create(
            name="Summer sale on the cloud stack (demo)" if stack == Campaign.VoiceStack.CLOUD
            else "Summer sale (demo)",
            slug=slug,
            caller_id=DEMO_CALLER_ID,
            voice_stack=stack,
            greeting_template=(
                "Hello {{ first_name|default:'there' }}, this is an automated assistant calling from "
                "Sunny Deals about our summer sale: twenty percent off every {{ plan|default:'' }} plan."
            ),
            system_prompt_template=(
                "You are a friendly sales assistant for Sunny Deals. Offer the summer sale, answer "
                "briefly, respect a no, and offer to call back when asked."
            ),
            voicemail_message=(
                "Hello, this is Sunny Deals with a summer sale offer. Call us back at this number "
                "and we will tell you more. Goodbye."
            ),
            window_start="09:00", window_end="20:00",
            max_concurrent_calls=3, max_attempts=2, retry_delays_minutes=[2],
            ring_timeout_seconds=15,
        )
