"""refodoo: a stand-in for Odoo that honours the container contract of images
built on camptocamp/docker-odoo-project. See /odoo/README.md."""
