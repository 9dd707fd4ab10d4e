"""Models arrive with their issue; the app is registered so its layout is fixed."""
