"""What joins regions besides MirrorMaker 2: the relay of requests sent home (README "Regions")."""
