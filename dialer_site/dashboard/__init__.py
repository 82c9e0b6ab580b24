"""The campaign pages: the list, one campaign with its live board, leads and figures, the
controls (start, pause, resume, cancel) and the campaign admin. Above both `calls` and
`campaigns`, since every page here shows a campaign together with its calls."""
