"""Contact import, one feature in one folder: reading an uploaded CSV (`reading`), a record
made a contact (`rows`), the batches (`service`) and their SQL (`writing`), the staff pages
(`forms`, `views`, `urls`), the CSV downloads (`export`) and what keeps them safe to open
in a spreadsheet (`csv_safety`)."""
