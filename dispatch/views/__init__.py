"""Page views of the closed loop, one module per audience, one presentation of a case:

- case_view.py: a case as every page shows it (action forms from the transition table,
  timeline, photos, department choices) and the photo files
- centre.py, centre_panel.py: street and district command centres (map, queues, case panel)
- field.py, field_actions.py, inbox.py, hotline.py: grid worker (phone), the field case
  page, department inbox, hotline intake form
"""
