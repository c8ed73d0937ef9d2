# Included by the Makefile (which defines VENV and the venv target).

.PHONY: test-docker

## test-docker: the Docker path for real: podman + the real docker-compose build and run
## both images with the real compose file (only `kafka` replaced by a local stand-in)
test-docker: venv
	DOCKER_COMPOSE=$(VENV)/bin/docker-compose scripts/docker/test-docker.sh
