"""Page views of the closed loop, one module per audience:

- centre.py: street and district command centres (map, queues, case panel)
- field.py: grid worker (phone), department inbox, hotline intake form
"""
