"""The Pulumi program: typed stack config, composition of the components, and the offline render."""
