"""What zongheng hands people: verdict formats (text, JSON, JUnit, SARIF), the auditor's
HTML report and the proof bundle. Reads the model and the proof engine's results."""
