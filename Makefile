# Shortcuts for dev.py, which needs nothing but python3.
.PHONY: demo test
demo:
	python3 dev.py demo
test:
	python3 dev.py test
