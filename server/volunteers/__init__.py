"""What volunteers (อสม.) do: contact and living-situation updates for their elders, and
"seen well today" check-ins."""
